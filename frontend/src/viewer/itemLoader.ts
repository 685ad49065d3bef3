/**
 * Getting an item's pixels ready: its DICOM JSON registered for every frame image id, and the
 * frames decoded into Cornerstone's cache. The workspace calls it for the item on screen and,
 * while the doctor works, for the next leased item, so pressing Enter shows it at once.
 */
import { imageLoader } from "@cornerstonejs/core";

import type { InstanceRef } from "../api/types";
import { registerInstanceMetadata } from "./cornerstone";
import type { DicomJson } from "./dicomJson";
import { fetchInstanceMetadata, fetchSeriesMetadata, frameImageId } from "./dicomweb";
import { num, Tag, text } from "./dicomJson";

export interface PreparedStack {
  imageIds: string[];
  /** Metadata of each image id's instance (same object for all frames of one instance). */
  metadata: DicomJson[];
}

const prepared = new Map<string, Promise<PreparedStack>>();

export function instanceImageIds(
  ref: InstanceRef | Parameters<typeof frameImageId>[1],
  frames: number,
): string[] {
  return Array.from({ length: Math.max(1, frames) }, (_, i) =>
    frameImageId(location.origin, ref, i + 1),
  );
}

/** Metadata of one instance, registered for all its frames; cached per SOP Instance UID. */
export function prepareInstance(ref: InstanceRef): Promise<PreparedStack> {
  const key = `instance:${ref.sop_instance_uid}`;
  let promise = prepared.get(key);
  if (!promise) {
    promise = fetchInstanceMetadata(ref).then((json) => {
      const frames = num(json, Tag.NumberOfFrames) ?? ref.number_of_frames ?? 1;
      const imageIds = instanceImageIds(ref, frames);
      registerInstanceMetadata(imageIds, json);
      return { imageIds, metadata: imageIds.map(() => json) };
    });
    promise.catch(() => prepared.delete(key));
    prepared.set(key, promise);
  }
  return promise;
}

/** A whole series as one stack, instances ordered by Instance Number (read-only viewing). */
export function prepareSeries(study: string, series: string): Promise<PreparedStack> {
  const key = `series:${series}`;
  let promise = prepared.get(key);
  if (!promise) {
    promise = fetchSeriesMetadata(study, series).then((list) => {
      const sorted = [...list].sort(
        (p, q) => (num(p, Tag.InstanceNumber) ?? 0) - (num(q, Tag.InstanceNumber) ?? 0),
      );
      const imageIds: string[] = [];
      const metadata: DicomJson[] = [];
      for (const json of sorted) {
        const ref = {
          study_instance_uid: study,
          series_instance_uid: series,
          sop_instance_uid: text(json, Tag.SOPInstanceUID),
        };
        const ids = instanceImageIds(ref, num(json, Tag.NumberOfFrames) ?? 1);
        registerInstanceMetadata(ids, json);
        imageIds.push(...ids);
        metadata.push(...ids.map(() => json));
      }
      return { imageIds, metadata };
    });
    promise.catch(() => prepared.delete(key));
    prepared.set(key, promise);
  }
  return promise;
}

/** Decode images into the cache ahead of time (the item's own frame first). */
export async function preloadImages(imageIds: string[], first = 0, limit = 8): Promise<void> {
  const order = [imageIds[first], ...imageIds.filter((_, i) => i !== first)]
    .filter(Boolean)
    .slice(0, limit);
  await Promise.all(order.map((id) => imageLoader.loadAndCacheImage(id).catch(() => undefined)));
}
