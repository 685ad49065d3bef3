/** Answering with a class (number keys, label buttons) and "no findings" (N). */
import { useCallback, type Dispatch, type RefObject } from "react";

import type { ClassPayload, LabelClass, Project } from "../../api/types";
import { newUid, type AnnotationDocument } from "../../viewer/annotationDocument";
import type { DrawingLayer } from "../../viewer/drawingLayer";
import type { Notice } from "../labellingLoop";
import type { WorkspaceEvent } from "./workspaceState";

/**
 * The classification answer after choosing `label`: multi-label toggles it, single-label
 * replaces the answer; always in schema order (`order`), as the server stores it.
 */
export function answerAfter(
  current: readonly string[],
  label: string,
  multiLabel: boolean,
  order: readonly string[],
): string[] {
  let next: string[];
  if (multiLabel) {
    next = current.includes(label) ? current.filter((n) => n !== label) : [...current, label];
  } else {
    next = [label];
  }
  return order.filter((n) => next.includes(n));
}

interface Deps {
  project: Project | null;
  labels: LabelClass[];
  /** The document being answered and its item's frame (the workspace's item, a review draft). */
  onScreen: () => { doc: AnnotationDocument; item: { frame: number } } | null;
  layerRef: RefObject<DrawingLayer | null>;
  dispatch: Dispatch<WorkspaceEvent>;
  notify: (notice: Notice) => void;
}

export function useAnswerActions({ project, labels, onScreen, layerRef, dispatch, notify }: Deps) {
  const chooseClass = useCallback(
    (label: LabelClass) => {
      const live = onScreen();
      if (!project || !live) return;
      const { doc, item } = live;
      if (project.task_type !== "classification") {
        dispatch({ type: "activeLabel", name: label.name });
        layerRef.current?.relabelSelected(label.name);
        return;
      }
      const existing = doc.classShape();
      const current = (existing?.payload as ClassPayload | undefined)?.labels ?? [];
      const order = labels.map((l) => l.name);
      const next = answerAfter(current, label.name, project.multi_label, order);
      if (!next.length) {
        if (existing) doc.remove(existing.uid);
        return;
      }
      doc.put({
        uid: existing?.uid ?? newUid(),
        kind: "class",
        frame: item.frame,
        payload: { labels: next },
      });
    },
    [project, labels, onScreen, layerRef, dispatch],
  );

  const noFindings = useCallback(() => {
    const live = onScreen();
    if (!live || !project || project.task_type === "classification") return;
    const { doc, item } = live;
    if (doc.all().some((s) => s.kind !== "class")) {
      notify({
        kind: "info",
        text: "Delete the shapes first to mark this image as having no findings.",
      });
      return;
    }
    const existing = doc.classShape();
    doc.put({
      uid: existing?.uid ?? newUid(),
      kind: "class",
      frame: item.frame,
      payload: { labels: [] },
    });
  }, [project, onScreen, notify]);

  return { chooseClass, noFindings };
}
