/** The model's suggestion for the item on screen, and its heat map's visibility and opacity. */
import { useCallback, useEffect, useState } from "react";

import type { ApiClient } from "../../api/client";
import type { Outbox } from "../../api/outbox";
import type { ItemPayload, Project, Suggestion } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import { DEFAULT_HEATMAP_OPACITY } from "../HeatmapOverlay";

interface Options {
  item: ItemPayload | null;
  doc: AnnotationDocument | null;
  mode: Project["suggestions"] | undefined;
  outbox: Outbox;
  client: ApiClient;
}

export function useSuggestion({ item, doc, mode, outbox, client }: Options) {
  const [suggestion, setSuggestion] = useState<Suggestion | null>(null);
  const [heatmap, setHeatmap] = useState(false);
  const [heatmapOpacity, setHeatmapOpacity] = useState(DEFAULT_HEATMAP_OPACITY);

  // Suggestions: with the item ("before"), or once the doctor has answered ("after").
  useEffect(() => {
    setSuggestion(item?.suggestion ?? null);
    setHeatmap(false);
  }, [item]);
  useEffect(() => {
    if (!item || !doc || mode !== "after" || suggestion) return;
    return outbox.subscribe((event) => {
      if (event.type !== "saved" || event.itemId !== item.id || doc.isEmpty) return;
      // GET the item again rather than /suggestion: no 404 in the console when there is no model.
      client.item(item.id).then(
        (fresh) => fresh.suggestion && setSuggestion(fresh.suggestion),
        () => undefined,
      );
    });
  }, [item, doc, mode, suggestion, outbox, client]);

  const toggleHeatmap = useCallback(() => setHeatmap((on) => !on), []);
  return { suggestion, heatmap, toggleHeatmap, heatmapOpacity, setHeatmapOpacity };
}
