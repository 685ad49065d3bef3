/** The side panel: project, progress, classes, tools, shapes, suggestion, actions and status. */
import type { ClassPayload, LabelClass, Project } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import type { DrawTool } from "../../viewer/drawingLayer";
import type { LoopState } from "../labellingLoop";
import { SuggestionPanel } from "../SuggestionPanel";
import { DrawingTools } from "./DrawingTools";
import { FlagForReview } from "./FlagForReview";
import { LabelButtons } from "./LabelButtons";
import { ShapeList } from "./ShapeList";
import { StatusArea } from "./StatusArea";
import { TOOLS_FOR_TASK } from "./tools";
import { isClassSuggestion } from "../../viewer/maskSuggestion";
import { BoxSuggestionPanel } from "./BoxSuggestionPanel";
import { MaskSuggestionPanel } from "./MaskSuggestionPanel";
import type { useBoxSuggestion } from "./useBoxSuggestion";
import type { useMaskSuggestion } from "./useMaskSuggestion";
import type { useSuggestion } from "./useSuggestion";
import type { WorkspaceState } from "./workspaceState";
import { formatRemaining } from "../remainingCount";

interface Props {
  project: Project | null;
  loop: LoopState | null;
  labels: LabelClass[];
  ui: WorkspaceState;
  suggestion: ReturnType<typeof useSuggestion>;
  maskSuggestion: ReturnType<typeof useMaskSuggestion>;
  boxSuggestion: ReturnType<typeof useBoxSuggestion>;
  status: { pending: number; offline: string | null; startError: string | null };
  on: {
    choose: (label: LabelClass) => void;
    noFindings: () => void;
    tool: (tool: DrawTool) => void;
    brush: (size: number) => void;
    step: (doc: AnnotationDocument | null, redo: boolean) => void;
    submit: () => void;
    skip: () => void;
    help: () => void;
    flag: (note: string) => Promise<void>;
  };
}

export function LabellingPanel(props: Props) {
  const { project, loop, labels, ui, suggestion, maskSuggestion, boxSuggestion, status, on } =
    props;
  const doc = loop?.doc ?? null;
  const phase = loop?.phase ?? "starting";
  const classLabels = (doc?.classShape()?.payload as ClassPayload | undefined)?.labels;
  const progress = loop?.progress;
  return (
    <aside className="panel" aria-label="Labelling">
      <h1 className="project-name">{project?.name ?? "…"}</h1>
      <p className="progress" data-testid="progress" aria-live="polite">
        {progress
          ? `${progress.submitted_by_me} submitted by you · ${formatRemaining(progress.remaining)} left in the queue`
          : "…"}
        {loop?.sessionCount ? ` · ${loop.sessionCount} this session` : ""}
      </p>
      {project?.instructions && (
        <details className="instructions">
          <summary>Instructions</summary>
          {project.instructions_html !== undefined ? (
            // Safe HTML from the server: markdown-it with raw HTML off (annotations/markdown.py).
            <div
              className="markdown"
              dangerouslySetInnerHTML={{ __html: project.instructions_html }}
            />
          ) : (
            <p>{project.instructions}</p>
          )}
        </details>
      )}
      <LabelButtons
        taskType={project?.task_type}
        labels={labels}
        classLabels={classLabels}
        activeLabel={ui.activeLabel}
        onChoose={on.choose}
        onNoFindings={on.noFindings}
      />
      <DrawingTools
        tools={project ? TOOLS_FOR_TASK[project.task_type] : []}
        tool={ui.tool}
        brush={ui.brush}
        canUndo={Boolean(doc?.canUndo)}
        canRedo={Boolean(doc?.canRedo)}
        onTool={on.tool}
        onBrush={on.brush}
        onUndo={() => on.step(doc, false)}
        onRedo={() => on.step(doc, true)}
      />
      {doc && project?.task_type !== "classification" && <ShapeList doc={doc} />}
      {maskSuggestion.mask && project?.suggestions !== "hidden" && (
        <MaskSuggestionPanel
          suggestion={maskSuggestion.mask}
          state={maskSuggestion.state}
          onAccept={maskSuggestion.accept}
          onClear={maskSuggestion.clear}
        />
      )}
      {boxSuggestion.boxes && project?.suggestions !== "hidden" && (
        <BoxSuggestionPanel
          suggestion={boxSuggestion.boxes}
          shown={boxSuggestion.shown}
          state={boxSuggestion.state}
          onAccept={boxSuggestion.accept}
          onReject={boxSuggestion.reject}
          onClear={boxSuggestion.clear}
        />
      )}
      {suggestion.suggestion &&
        isClassSuggestion(suggestion.suggestion) &&
        project?.suggestions !== "hidden" && (
          <SuggestionPanel
            suggestion={suggestion.suggestion}
            heatmapOn={suggestion.heatmap}
            onToggleHeatmap={suggestion.toggleHeatmap}
            heatmapOpacity={suggestion.heatmapOpacity}
            onHeatmapOpacity={suggestion.setHeatmapOpacity}
          />
        )}
      <div className="actions">
        <button
          type="button"
          className="primary"
          onClick={on.submit}
          disabled={phase !== "ready"}
          data-testid="submit"
        >
          Submit <kbd>Enter</kbd>
        </button>
        <button type="button" onClick={on.skip} disabled={phase !== "ready"}>
          Skip <kbd>S</kbd>
        </button>
        <button type="button" className="link" onClick={on.help}>
          Shortcuts <kbd>?</kbd>
        </button>
      </div>
      <FlagForReview disabled={phase !== "ready"} onFlag={on.flag} />
      <StatusArea
        leaseExpired={Boolean(loop?.leaseExpired)}
        notice={loop?.notice ?? null}
        {...status}
      />
    </aside>
  );
}
