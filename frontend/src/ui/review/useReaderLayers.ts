/**
 * Each reader's shapes as a read-only drawing layer over the viewer, in the reader's colour and
 * named "reader: class"; `solo` shows one reader's layer only (null: all of them). The current
 * adjudication (`adjudicated`, last) shows too, except while a copy is being edited.
 */
import { useEffect, useRef } from "react";

import type { LabelClass, ReviewItem } from "../../api/types";
import { AnnotationDocument, draftSink } from "../../viewer/annotationDocument";
import { DrawingLayer } from "../../viewer/drawingLayer";
import type { StackViewer } from "../../viewer/stackViewer";
import { readerLabelInfos, readerLayerShapes, type ReaderAnswer } from "./readers";

export function useReaderLayers(
  viewer: StackViewer | null,
  item: ReviewItem | null,
  labels: LabelClass[],
  answers: ReaderAnswer[],
  solo: number | null,
  adjudicated: ReaderAnswer | null,
  editing: boolean,
): void {
  const layers = useRef<DrawingLayer[]>([]);

  useEffect(() => {
    if (!viewer || !item?.instance.rows) return;
    const all = adjudicated ? [...answers, adjudicated] : answers;
    const built = all.map((answer) => {
      const doc = new AnnotationDocument(item.id, draftSink);
      doc.startFrom(readerLayerShapes(answer));
      const layer = new DrawingLayer(viewer.element, {
        doc,
        rows: item.instance.rows,
        columns: item.instance.columns,
        labels: readerLabelInfos(labels, answer),
        affine: () => viewer.imageToCanvas(),
        frame: () => viewer.index + 1,
        activeLabel: () => null,
        readOnly: true,
      });
      layer.setTool(null); // clicks go through to the viewer or the edit layer above
      layer.svg.dataset.reader = answer.reader.username;
      return { layer, doc };
    });
    layers.current = built.map((b) => b.layer);
    const stop = viewer.subscribe(() => built.forEach((b) => b.layer.render()));
    return () => {
      stop();
      for (const b of built) {
        b.layer.destroy();
        b.doc.dispose();
      }
      layers.current = [];
    };
  }, [viewer, item, labels, answers, adjudicated]);

  useEffect(() => {
    layers.current.forEach((layer, i) => {
      const isAdjudication = i >= answers.length;
      const shown = isAdjudication ? !editing : solo === null || solo === i;
      layer.svg.style.display = shown ? "" : "none";
      layer.maskCanvas.style.display = shown ? "" : "none";
    });
  }, [solo, answers, adjudicated, editing]);
}
