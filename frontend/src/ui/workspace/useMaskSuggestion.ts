/**
 * A segmentation model's suggested masks on the item: shown faint in the class colours until the
 * doctor accepts them (A: they become the doctor's own mask annotations, which the brush and the
 * eraser then correct, and whose saves carry provenance) or clears them (X).
 */
import { useCallback, useEffect, useState } from "react";

import type { LabelClass, Suggestion } from "../../api/types";
import { newUid, type AnnotationDocument } from "../../viewer/annotationDocument";
import type { DrawingLayer } from "../../viewer/drawingLayer";
import { acceptedShapes, isMaskSuggestion } from "../../viewer/maskSuggestion";

export type MaskSuggestionState = "pending" | "accepted" | "cleared";

interface Options {
  suggestion: Suggestion | null;
  doc: AnnotationDocument | null;
  labels: LabelClass[];
  layer: DrawingLayer | null;
}

export function useMaskSuggestion({ suggestion, doc, labels, layer }: Options) {
  const mask = isMaskSuggestion(suggestion) ? suggestion : null;
  const [state, setState] = useState<MaskSuggestionState>("pending");
  const [acceptedUids, setAcceptedUids] = useState<string[]>([]);

  // A new suggestion starts pending, unless the doctor's masks already came from it (reload).
  useEffect(() => {
    const mine =
      mask && doc
        ? doc.all().filter((s) => doc.originOf(s.uid)?.suggestedBy === mask.model_version)
        : [];
    setState(mine.length ? "accepted" : "pending");
    setAcceptedUids(mine.map((s) => s.uid));
  }, [mask, doc]);

  useEffect(() => {
    layer?.setSuggestion(mask && state === "pending" ? mask : null);
  }, [layer, mask, state]);

  const accept = useCallback(() => {
    if (!mask || !doc || state !== "pending") return;
    const names = labels.map((l) => l.name);
    const shapes = acceptedShapes(mask, names, (l, f) => doc.maskFor(l, f), newUid);
    for (const { shape, origin } of shapes) doc.putSuggested(shape, origin);
    layer?.invalidateMasks();
    setAcceptedUids(shapes.map((s) => s.shape.uid));
    setState("accepted");
  }, [mask, doc, state, labels, layer]);

  const clear = useCallback(() => {
    if (!mask || !doc || state === "cleared") return;
    // Cleared after accepting: the masks that came from it go (undo brings them back).
    if (state === "accepted") for (const uid of acceptedUids) doc.remove(uid);
    layer?.invalidateMasks();
    setState("cleared");
  }, [mask, doc, state, acceptedUids, layer]);

  return { mask, state, accept, clear };
}
