import { useState } from "react";

import { presetsFor } from "../viewer/presets";
import type { NavigationTool, StackViewer } from "../viewer/stackViewer";

/** Buttons for what the navigation keys do, so every action is reachable by mouse too. */
export function ViewerToolbar({
  viewer,
  modality,
  onNavigationTool,
  activeNavigation,
}: {
  viewer: StackViewer;
  modality: string;
  onNavigationTool?: (tool: NavigationTool) => void;
  activeNavigation?: NavigationTool | null;
}) {
  const [, force] = useState(0);
  const current = activeNavigation === undefined ? viewer.primaryTool : activeNavigation;
  const nav = (tool: NavigationTool, label: string, key: string) => (
    <button
      type="button"
      aria-pressed={current === tool}
      title={`${label} (${key})`}
      onClick={() => {
        if (onNavigationTool) onNavigationTool(tool);
        else viewer.setPrimary(tool);
        force((n) => n + 1);
      }}
    >
      {label}
    </button>
  );
  return (
    <div className="toolbar" role="toolbar" aria-label="View">
      {nav("WindowLevel", "W/L", "W")}
      {nav("Pan", "Pan", "M")}
      {nav("Zoom", "Zoom", "Z")}
      <span className="sep" />
      {presetsFor(modality).map((p) => (
        <button
          key={p.key}
          type="button"
          onClick={() => viewer.applyPreset(p)}
          data-testid={`preset-${p.key}`}
        >
          {p.name}
        </button>
      ))}
      <span className="sep" />
      <button type="button" title="Invert (I)" onClick={() => viewer.toggleInvert()}>
        Invert
      </button>
      <button type="button" title="Fit to window (O)" onClick={() => viewer.fit()}>
        Fit
      </button>
      <button type="button" title="Reset view (0)" onClick={() => viewer.reset()}>
        Reset
      </button>
      <button
        type="button"
        title="Cine (Space)"
        onClick={() => {
          viewer.toggleCine();
          force((n) => n + 1);
        }}
        aria-pressed={viewer.cinePlaying}
      >
        Cine
      </button>
    </div>
  );
}
