/** The project and its review queue, the item on screen, and its image in the viewer. */
import { useCallback, useEffect, useRef, useState } from "react";

import type { ApiClient } from "../../api/client";
import type { Project, ReviewItem } from "../../api/types";
import { prepareInstance, type PreparedStack } from "../../viewer/itemLoader";
import type { StackViewer } from "../../viewer/stackViewer";
import { noteRendered } from "../../viewer/testHook";
import { describe, type Notice } from "../labellingLoop";

export type ReviewPhase = "loading" | "ready" | "empty" | "error";

export function useReviewQueue(
  client: ApiClient,
  projectId: number,
  viewer: StackViewer | null,
  notify: (notice: Notice | null) => void,
) {
  const [project, setProject] = useState<Project | null>(null);
  const [items, setItems] = useState<ReviewItem[] | null>(null);
  const [index, setIndex] = useState(0);
  const [showReviewed, setShowReviewed] = useState(false);
  const [phase, setPhase] = useState<ReviewPhase>("loading");
  const [stack, setStack] = useState<PreparedStack | null>(null);

  useEffect(() => {
    let live = true;
    Promise.all([
      client.project(projectId),
      client.reviewQueue(projectId, showReviewed ? "all" : "pending"),
    ]).then(
      ([p, queue]) => {
        if (!live) return;
        setProject(p);
        setItems(queue);
        setIndex(0);
        if (!queue.length) setPhase("empty");
      },
      (err: unknown) => {
        if (!live) return;
        setPhase("error");
        notify({ kind: "error", text: describe(err) });
      },
    );
    return () => {
      live = false;
    };
  }, [client, projectId, showReviewed, notify]);

  const item = items?.[index] ?? null;
  const itemId = item?.id ?? null;
  // The image follows the item's identity, not each update of its row (an adjudication, a
  // comment): the effect below reads the row from here and reruns only for another item.
  const row = useRef(item);
  useEffect(() => {
    row.current = item;
  });

  // The test hook counts drawn images, as in the workspace.
  useEffect(() => viewer?.subscribe((event) => event === "rendered" && noteRendered()), [viewer]);

  useEffect(() => {
    const shown = row.current;
    if (!viewer || itemId === null || !shown) return;
    const { instance, frame } = shown;
    let live = true;
    setPhase("loading");
    if (!instance.sop_instance_uid) {
      setPhase("error");
      notify({ kind: "error", text: "A whole-series item cannot be shown here." });
      return;
    }
    prepareInstance(instance)
      .then(async (prepared) => {
        const at = Math.min(prepared.imageIds.length - 1, Math.max(0, frame - 1));
        await viewer.show(prepared.imageIds, at);
        if (!live) return;
        setStack(prepared);
        setPhase("ready");
      })
      .catch((err: unknown) => {
        if (!live) return;
        setPhase("error");
        notify({ kind: "error", text: describe(err) });
      });
    return () => {
      live = false;
    };
  }, [viewer, itemId, notify]);

  /** Replace one row (after an adjudication or a comment) without reloading the image. */
  const update = useCallback((id: number, patch: Partial<ReviewItem>) => {
    setItems((list) => list?.map((row) => (row.id === id ? { ...row, ...patch } : row)) ?? null);
  }, []);

  return {
    project,
    items,
    item,
    index,
    setIndex,
    showReviewed,
    setShowReviewed,
    phase,
    stack,
    update,
  };
}
