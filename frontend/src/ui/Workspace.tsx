/**
 * The labelling workspace of one project: viewer, tools and the keyboard loop. The parts live
 * in workspace/: the loop (useLabellingLoop), what each key does (keyMap, useWorkspaceKeys),
 * the workspace's own state (workspaceState) and the presentational panels.
 */
import { useCallback, useMemo, useReducer } from "react";

import type { Project, SkipReason } from "../api/types";
import { useSession } from "./context";
import { describe } from "./labellingLoop";
import { ReportLinks } from "./project/ReportLinks";
import { SeriesList } from "./SeriesList";
import { ShortcutHelp } from "./ShortcutHelp";
import { SkipDialog } from "./SkipDialog";
import { useStackViewer } from "./useStackViewer";
import { useAnswerActions } from "./workspace/answers";
import { LabellingPanel } from "./workspace/LabellingPanel";
import { isToolOf } from "./workspace/tools";
import { useContextSeries } from "./workspace/useContextSeries";
import { useDrawingLayer } from "./workspace/useDrawingLayer";
import { useLabellingLoop } from "./workspace/useLabellingLoop";
import { useBoxSuggestion } from "./workspace/useBoxSuggestion";
import { useMaskSuggestion } from "./workspace/useMaskSuggestion";
import { useSuggestion } from "./workspace/useSuggestion";
import { useWorkspaceKeys } from "./workspace/useWorkspaceKeys";
import { useWorkspaceTestHook } from "./workspace/useWorkspaceTestHook";
import { ViewerArea } from "./workspace/ViewerArea";
import { initialWorkspace, workspaceReducer } from "./workspace/workspaceState";

export function Workspace({ projectId }: { projectId: number }) {
  const { client, username } = useSession();
  const [ref, viewer, startError] = useStackViewer();
  const [ui, dispatch] = useReducer(workspaceReducer, initialWorkspace);
  const onProject = useCallback(
    (project: Project) => dispatch({ type: "projectLoaded", project }),
    [],
  );
  const { project, loop, outbox, notify, onScreen, snapshot, ...run } = useLabellingLoop({
    client,
    username,
    projectId,
    viewer,
    onProject,
  });
  const item = loop?.item ?? null;
  const doc = loop?.doc ?? null;
  const stack = loop?.stack ?? null;
  const labels = useMemo(
    () => [...(project?.label_classes ?? [])].sort((a, b) => a.index - b.index),
    [project],
  );
  const { context, tool, brush } = ui;
  const drawing = useDrawingLayer({ viewer, doc, item, project, labels, ui, notify });
  const { layerRef, step } = drawing;
  const suggestion = useSuggestion({ item, doc, mode: project?.suggestions, outbox, client });
  const maskSuggestion = useMaskSuggestion({
    suggestion: suggestion.suggestion,
    doc,
    labels,
    layer: drawing.layer,
  });
  const boxSuggestion = useBoxSuggestion({
    suggestion: suggestion.suggestion,
    doc,
    labels,
    layer: drawing.layer,
  });
  // A and X act on whichever model suggestion the item carries (masks or boxes).
  const modelSuggestion = boxSuggestion.boxes ? boxSuggestion : maskSuggestion;
  const suggestionShown =
    (maskSuggestion.mask !== null || boxSuggestion.boxes !== null) &&
    project?.suggestions !== "hidden";
  const series = useContextSeries({ viewer, item, stack, dispatch, notify });
  const answers = useAnswerActions({ project, labels, onScreen, layerRef, dispatch, notify });

  const submit = () => {
    dispatch({ type: "left" });
    run.submit();
  };
  const skip = (reason: SkipReason) => {
    dispatch({ type: "left" });
    run.skip(reason);
  };
  const setTool = useCallback(
    (name: string) => {
      if (project && isToolOf(project.task_type, name)) dispatch({ type: "tool", tool: name });
    },
    [project],
  );
  useWorkspaceKeys({
    viewer,
    project,
    labels,
    ui,
    dispatch,
    modality: item?.instance.modality ?? "",
    layerRef,
    onScreen,
    step,
    actions: {
      submit,
      skip,
      backToItem: series.backToItem,
      toggleHeatmap: suggestion.toggleHeatmap,
      acceptSuggestion: modelSuggestion.accept,
      clearSuggestion: modelSuggestion.clear,
      ...answers,
    },
    maskSuggestion: suggestionShown,
  });
  useWorkspaceTestHook({ viewer, projectId, tool, brush, outbox, snapshot, setTool });
  const phase = loop?.phase ?? "starting";

  return (
    <main className="workspace" data-phase={phase}>
      <aside className="side" aria-label="Series">
        <h2 className="small-title">Series</h2>
        {item && (
          <SeriesList
            studyUid={item.instance.study_instance_uid}
            activeUid={context?.series ?? item.instance.series_instance_uid}
            highlightUid={item.instance.series_instance_uid}
            onOpen={(s) => void series.openSeries(s.uid)}
          />
        )}
        {item && <ReportLinks studyUid={item.instance.study_instance_uid} projectId={projectId} />}
      </aside>
      <ViewerArea
        viewportRef={ref}
        viewer={viewer}
        loop={loop}
        context={context}
        tool={tool}
        showIdentity={project?.deidentify === false}
        onNavigationTool={(t) => dispatch({ type: "tool", tool: t })}
        suggestion={suggestion}
        onBackToItem={series.backToItem}
      />
      <LabellingPanel
        project={project}
        loop={loop}
        labels={labels}
        ui={ui}
        suggestion={suggestion}
        maskSuggestion={maskSuggestion}
        boxSuggestion={boxSuggestion}
        status={{ pending: run.pending, offline: run.offline, startError }}
        on={{
          choose: answers.chooseClass,
          noFindings: answers.noFindings,
          tool: (t) => dispatch({ type: "tool", tool: t }),
          brush: (size) => dispatch({ type: "brushSize", size }),
          step,
          submit,
          skip: () => dispatch({ type: "skipDialog", open: true }),
          help: () => dispatch({ type: "help", open: true }),
          flag: async (note) => {
            const shown = onScreen();
            if (!shown) return;
            try {
              await client.flag(shown.item.id, note);
              notify({ kind: "info", text: `Item ${shown.item.id} flagged for review.` });
            } catch (err) {
              notify({ kind: "error", text: describe(err) });
            }
          },
        }}
      />
      {ui.help && <ShortcutHelp onClose={() => dispatch({ type: "help", open: false })} />}
      {ui.skipping && (
        <SkipDialog
          onChoose={skip}
          onCancel={() => dispatch({ type: "skipDialog", open: false })}
        />
      )}
    </main>
  );
}
