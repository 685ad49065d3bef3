/** The drawing tools of the task, the brush size, undo and redo. */
import type { DrawTool } from "../../viewer/drawingLayer";
import { TOOL_NAMES, type Tool } from "./tools";

interface Props {
  tools: DrawTool[];
  tool: Tool;
  brush: number;
  canUndo: boolean;
  canRedo: boolean;
  onTool: (tool: DrawTool) => void;
  onBrush: (size: number) => void;
  onUndo: () => void;
  onRedo: () => void;
}

export function DrawingTools({ tools, tool, brush, canUndo, canRedo, ...on }: Props) {
  if (!tools.length) return null;
  return (
    <div className="tools" role="toolbar" aria-label="Drawing tools">
      {tools.map((t) => (
        <button
          key={t}
          type="button"
          aria-pressed={tool === t}
          onClick={() => on.onTool(t)}
          data-testid={`tool-${t}`}
        >
          {TOOL_NAMES[t]}
        </button>
      ))}
      {(tool === "brush" || tool === "eraser") && (
        <label className="brush-size">
          Size {brush}px
          <input
            type="range"
            min={1}
            max={40}
            value={brush}
            onChange={(e) => on.onBrush(Number(e.target.value))}
          />
        </label>
      )}
      <button type="button" onClick={on.onUndo} disabled={!canUndo}>
        Undo
      </button>
      <button type="button" onClick={on.onRedo} disabled={!canRedo}>
        Redo
      </button>
    </div>
  );
}
