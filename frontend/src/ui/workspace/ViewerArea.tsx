/** The viewer column: navigation toolbar, the viewport and what lies over it. */
import { useEffect, useState, type RefObject } from "react";

import { Tag, text } from "../../viewer/dicomJson";
import type { NavigationTool, StackViewer, ViewState } from "../../viewer/stackViewer";
import { HeatmapOverlay } from "../HeatmapOverlay";
import type { LoopState } from "../labellingLoop";
import { Overlay } from "../Overlay";
import { linkHandler } from "../router";
import { ViewerToolbar } from "../ViewerToolbar";
import { isDrawTool, type Tool } from "./tools";
import { isClassSuggestion } from "../../viewer/maskSuggestion";
import type { useSuggestion } from "./useSuggestion";
import type { ContextSeries } from "./workspaceState";

interface Props {
  viewportRef: RefObject<HTMLDivElement | null>;
  viewer: StackViewer | null;
  loop: LoopState | null;
  context: ContextSeries | null;
  showIdentity: boolean;
  tool: Tool;
  onNavigationTool: (tool: NavigationTool) => void;
  /** The model's suggestion, whose heat map lies over the image when switched on. */
  suggestion: ReturnType<typeof useSuggestion>;
  onBackToItem: () => void;
}

export function ViewerArea(p: Props) {
  const { viewer, context, suggestion } = p;
  const item = p.loop?.item ?? null;
  const stack = p.loop?.stack ?? null;
  const [view, setView] = useState<ViewState | null>(null);
  useEffect(() => {
    if (!viewer) return;
    return viewer.subscribe(() => setView(viewer.state()));
  }, [viewer]);

  const currentMeta = context
    ? context.metadata[view?.index ?? 0]
    : stack?.metadata[view?.index ?? 0];
  const frame = view && view.count > 1 ? `Frame ${view.index + 1}/${view.count}` : "Image";
  const shown = suggestion.suggestion;
  const heatmapUrl = isClassSuggestion(shown) ? shown.heatmap_url : null;

  return (
    <section className="viewer-column">
      {viewer && (
        <ViewerToolbar
          viewer={viewer}
          modality={text(currentMeta, Tag.Modality) || item?.instance.modality || ""}
          activeNavigation={isDrawTool(p.tool) ? null : p.tool}
          onNavigationTool={p.onNavigationTool}
        />
      )}
      <div className="viewport-wrap">
        <div ref={p.viewportRef} className="viewport" data-testid="viewport" />
        <Overlay
          meta={currentMeta}
          view={view}
          showIdentity={p.showIdentity}
          frameLabel={view && stack && !context ? `${frame} · item ${item?.id ?? ""}` : undefined}
        />
        {suggestion.heatmap && heatmapUrl && viewer && item && !context && (
          <HeatmapOverlay
            viewer={viewer}
            url={heatmapUrl}
            rows={item.instance.rows}
            columns={item.instance.columns}
            opacity={suggestion.heatmapOpacity}
          />
        )}
        {context && (
          <div className="banner" role="status">
            Viewing another series, read-only.{" "}
            <button type="button" onClick={p.onBackToItem}>
              Back to the item (Esc)
            </button>
          </div>
        )}
        {p.loop?.phase === "done" && (
          <div className="done" role="status" data-testid="queue-done">
            <h2>Nothing left to label for you in this project.</h2>
            <a href="/" onClick={linkHandler("/")}>
              Back to your projects
            </a>
          </div>
        )}
      </div>
    </section>
  );
}
