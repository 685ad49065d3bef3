/**
 * A detection model's suggested boxes on the item: dashed in the class colours with their score
 * until the doctor accepts them (A: the boxes still shown become the doctor's own box
 * annotations, which select, move, resize and delete as any box, and whose saves carry
 * provenance), rejects one (a click on it, or its ✕ in the panel) or clears them all (X).
 */
import { useCallback, useEffect, useMemo, useState } from "react";

import type { LabelClass, Suggestion } from "../../api/types";
import { newUid, type AnnotationDocument } from "../../viewer/annotationDocument";
import { acceptedBoxes, isBoxSuggestion } from "../../viewer/boxSuggestion";
import type { DrawingLayer } from "../../viewer/drawingLayer";
import type { MaskSuggestionState } from "./useMaskSuggestion";

interface Options {
  suggestion: Suggestion | null;
  doc: AnnotationDocument | null;
  labels: LabelClass[];
  layer: DrawingLayer | null;
}

export function useBoxSuggestion({ suggestion, doc, labels, layer }: Options) {
  const boxes = isBoxSuggestion(suggestion) ? suggestion : null;
  const [state, setState] = useState<MaskSuggestionState>("pending");
  const [rejected, setRejected] = useState<ReadonlySet<number>>(new Set());
  const [acceptedUids, setAcceptedUids] = useState<string[]>([]);

  // A new suggestion starts pending, unless the doctor's boxes already came from it (reload).
  useEffect(() => {
    const mine =
      boxes && doc
        ? doc.all().filter((s) => doc.originOf(s.uid)?.suggestedBy === boxes.model_version)
        : [];
    setState(mine.length ? "accepted" : "pending");
    setRejected(new Set());
    setAcceptedUids(mine.map((s) => s.uid));
  }, [boxes, doc]);

  const shown = useMemo(
    () => (boxes ? boxes.boxes.filter((b) => !rejected.has(b.index)) : []),
    [boxes, rejected],
  );

  const reject = useCallback((index: number) => {
    setRejected((before) => new Set([...before, index]));
  }, []);

  useEffect(() => {
    const pending = boxes && state === "pending";
    layer?.setBoxSuggestion(
      pending ? { frame: boxes.frame, boxes: shown, onReject: reject } : null,
    );
  }, [layer, boxes, state, shown, reject]);

  const accept = useCallback(() => {
    if (!boxes || !doc || state !== "pending") return;
    const names = labels.map((l) => l.name);
    const shapes = acceptedBoxes(boxes, shown, names, newUid);
    for (const { shape, origin } of shapes) doc.putSuggested(shape, origin);
    setAcceptedUids(shapes.map((s) => s.shape.uid));
    setState("accepted");
  }, [boxes, doc, state, shown, labels]);

  const clear = useCallback(() => {
    if (!boxes || !doc || state === "cleared") return;
    // Cleared after accepting: the boxes that came from it go (undo brings them back).
    if (state === "accepted") for (const uid of acceptedUids) doc.remove(uid);
    setState("cleared");
  }, [boxes, doc, state, acceptedUids]);

  return { boxes, shown, state, accept, reject, clear };
}
