/** The drawing layer over the viewer, following the item on screen, the tool and the brush. */
import { useCallback, useEffect, useRef, useState } from "react";

import type { InstanceRef, LabelClass, Project } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import { DrawingLayer } from "../../viewer/drawingLayer";
import type { StackViewer } from "../../viewer/stackViewer";
import type { Notice } from "../labellingLoop";
import { isDrawTool } from "./tools";
import type { WorkspaceState } from "./workspaceState";

interface Options {
  viewer: StackViewer | null;
  doc: AnnotationDocument | null;
  /** The item on screen (the workspace's lease, the item under review). */
  item: { instance: InstanceRef } | null;
  project: Project | null;
  labels: LabelClass[];
  ui: WorkspaceState;
  notify: (notice: Notice) => void;
}

export function useDrawingLayer({ viewer, doc, item, project, labels, ui, notify }: Options) {
  const { context, tool, brush } = ui;
  const layerRef = useRef<DrawingLayer | null>(null);
  // The same layer as state, for effects that must run again when a new layer is built.
  const [layer, setLayer] = useState<DrawingLayer | null>(null);
  // The layer asks for these when it needs them; a new value must not rebuild it.
  const activeLabelRef = useRef(ui.activeLabel);
  const brushRef = useRef(brush);
  // Re-renders the workspace when the shapes change (shape list, undo/redo buttons).
  const [, setDocVersion] = useState(0);

  useEffect(() => {
    activeLabelRef.current = ui.activeLabel;
  }, [ui.activeLabel]);
  useEffect(() => {
    brushRef.current = brush;
    layerRef.current?.setBrushSize(brush);
  }, [brush]);

  // The drawing layer follows the item on screen (not a series opened for context).
  useEffect(() => {
    if (!viewer || !doc || !item || !project || context) return;
    const layer = new DrawingLayer(viewer.element, {
      doc,
      rows: item.instance.rows,
      columns: item.instance.columns,
      labels: labels.map((l) => ({ name: l.name, color: l.color, value: l.index + 1 })),
      affine: () => viewer.imageToCanvas(),
      frame: () => viewer.index + 1,
      activeLabel: () => activeLabelRef.current,
      readOnly: project.task_type === "classification",
      onMessage: (text) => notify({ kind: "info", text }),
    });
    layer.setBrushSize(brushRef.current);
    layerRef.current = layer;
    setLayer(layer);
    const stopView = viewer.subscribe(() => layer.render());
    const stopDoc = doc.subscribe(() => setDocVersion((n) => n + 1));
    setDocVersion((n) => n + 1);
    return () => {
      stopView();
      stopDoc();
      layer.destroy();
      layerRef.current = null;
      setLayer(null);
    };
  }, [viewer, doc, item, project, labels, context, notify]);

  // Tool changes reach Cornerstone (navigation) or the drawing layer; a new layer gets the tool.
  useEffect(() => {
    if (!viewer) return;
    if (isDrawTool(tool)) {
      viewer.setPrimary(null);
      layerRef.current?.setTool(tool);
    } else {
      viewer.setPrimary(tool);
      layerRef.current?.setTool(null);
    }
  }, [viewer, tool, doc, context]);

  /** Undo or redo on `doc`; painted masks are redrawn from the document. */
  const step = useCallback((target: AnnotationDocument | null | undefined, redo: boolean) => {
    if (redo) target?.redo();
    else target?.undo();
    layerRef.current?.invalidateMasks();
  }, []);

  return { layerRef, layer, step };
}
