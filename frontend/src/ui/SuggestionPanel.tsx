import type { ClassSuggestion } from "../api/types";

/** The model's answer with its calibrated probabilities, and the heat-map toggle. */
export function SuggestionPanel({
  suggestion,
  heatmapOn,
  onToggleHeatmap,
  heatmapOpacity,
  onHeatmapOpacity,
}: {
  suggestion: ClassSuggestion;
  heatmapOn: boolean;
  onToggleHeatmap: () => void;
  /** 0–100 percent. */
  heatmapOpacity: number;
  onHeatmapOpacity: (percent: number) => void;
}) {
  const entries = Object.entries(suggestion.probabilities).sort((a, b) => b[1] - a[1]);
  const multi = suggestion.multi_label === true;
  const suggested = new Set(suggestion.predicted_labels ?? []);
  return (
    <section className="suggestion" aria-label="Model suggestion" data-testid="suggestion">
      <h2 className="small-title">Model suggests</h2>
      <p>
        <strong>{suggestion.predicted}</strong>{" "}
        {!multi &&
          suggestion.probabilities[suggestion.predicted] !== undefined &&
          `(${Math.round(suggestion.probabilities[suggestion.predicted] * 100)}%)`}
        <span className="muted"> · model {String(suggestion.model_version)}</span>
      </p>
      {multi && <p className="muted">Each label scored on its own; suggested from 50%.</p>}
      <ul className="bars" data-testid={multi ? "label-probabilities" : undefined}>
        {entries.map(([name, p]) => (
          <li key={name} data-suggested={multi ? String(suggested.has(name)) : undefined}>
            <span>{name}</span>
            <span className="bar" style={{ width: `${Math.round(p * 100)}%` }} />
            <span>{(p * 100).toFixed(1)}%</span>
          </li>
        ))}
      </ul>
      {suggestion.heatmap_url && (
        <button type="button" aria-pressed={heatmapOn} onClick={onToggleHeatmap}>
          Heat map <kbd>H</kbd>
        </button>
      )}
      {suggestion.heatmap_url && heatmapOn && (
        <label
          className="heatmap-opacity"
          style={{
            display: "flex",
            alignItems: "center",
            gap: 6,
            marginTop: 6,
            whiteSpace: "nowrap",
          }}
        >
          Heat-map opacity
          <input
            type="range"
            min={0}
            max={100}
            step={5}
            value={heatmapOpacity}
            onChange={(event) => onHeatmapOpacity(Number(event.target.value))}
            data-testid="heatmap-opacity"
          />
          <output>{heatmapOpacity}%</output>
        </label>
      )}
    </section>
  );
}
