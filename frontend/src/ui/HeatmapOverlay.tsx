import { useEffect, useState } from "react";

import type { StackViewer } from "../viewer/stackViewer";

/** The slider's starting value, in percent: the image stays readable under the map. */
export const DEFAULT_HEATMAP_OPACITY = 50;

/** The model's explanation map laid over the image, following zoom and pan (same affine). */
export function HeatmapOverlay({
  viewer,
  url,
  rows,
  columns,
  opacity,
}: {
  viewer: StackViewer;
  url: string;
  rows: number;
  columns: number;
  /** 0–100, from the suggestion panel's slider. */
  opacity: number;
}) {
  const [transform, setTransform] = useState<string | null>(null);
  useEffect(() => {
    const update = () => {
      const m = viewer.imageToCanvas();
      // The map's own resolution does not matter: it is stretched over the image's pixel grid.
      setTransform(m ? `matrix(${m.a}, ${m.b}, ${m.c}, ${m.d}, ${m.e}, ${m.f})` : null);
    };
    update();
    return viewer.subscribe(update);
  }, [viewer]);
  if (!transform) return null;
  return (
    <img
      className="heatmap"
      data-testid="heatmap"
      src={url}
      alt="Model heat map"
      style={{
        width: columns,
        height: rows,
        transform,
        transformOrigin: "0 0",
        opacity: opacity / 100,
      }}
    />
  );
}
