import { useEffect } from "react";

import type { DicomJson } from "../viewer/dicomJson";
import { Tag, text } from "../viewer/dicomJson";
import { presetsFor } from "../viewer/presets";
import type { StackViewer } from "../viewer/stackViewer";
import { isTypingTarget } from "./shortcuts";

/** Cycle through the modality's window presets (L). */
export function nextPreset(viewer: StackViewer, modality: string, state: { i: number }): string {
  const presets = presetsFor(modality);
  state.i = (state.i + 1) % presets.length;
  viewer.applyPreset(presets[state.i]);
  return presets[state.i].name;
}

/**
 * Keys every viewer shares (scrolling, navigation tools, presets, invert, fit, reset, cine).
 * Returns true when the key was used.
 */
export function handleNavigationKey(
  event: KeyboardEvent,
  viewer: StackViewer,
  modality: string,
  presetState: { i: number },
): boolean {
  if (event.ctrlKey || event.metaKey || event.altKey) return false;
  switch (event.key) {
    case "ArrowUp":
    case "PageUp":
      void viewer.scroll(-1);
      return true;
    case "ArrowDown":
    case "PageDown":
      void viewer.scroll(1);
      return true;
    case " ":
      viewer.toggleCine();
      return true;
    case "w":
    case "W":
      viewer.setPrimary("WindowLevel");
      return true;
    case "m":
    case "M":
      viewer.setPrimary("Pan");
      return true;
    case "z":
    case "Z":
      viewer.setPrimary("Zoom");
      return true;
    case "l":
    case "L":
      nextPreset(viewer, modality, presetState);
      return true;
    case "i":
    case "I":
      viewer.toggleInvert();
      return true;
    case "o":
    case "O":
      viewer.fit();
      return true;
    case "0":
      viewer.reset();
      return true;
    default:
      return false;
  }
}

/** Read-only screens: navigation keys on the document. */
export function useNavigationKeys(viewer: StackViewer | null, meta: DicomJson | undefined): void {
  useEffect(() => {
    if (!viewer) return;
    const presetState = { i: 0 };
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target)) return;
      if (handleNavigationKey(event, viewer, text(meta, Tag.Modality), presetState))
        event.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [viewer, meta]);
}
