/**
 * A tiny history-API router: the app has a handful of routes, all under /app/ (plus "/"),
 * which Django's SPA view answers with the same page.
 */
import { useEffect, useState } from "react";

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const l of listeners) l();
}

window.addEventListener("popstate", () => {
  for (const l of listeners) l();
});

export function useLocation(): { path: string; search: URLSearchParams } {
  const [, force] = useState(0);
  useEffect(() => {
    const l = () => force((n) => n + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

export type Route =
  | { name: "projects" }
  | { name: "project-new" }
  | { name: "project-settings"; projectId: number }
  | { name: "team"; projectId: number }
  | { name: "workspace"; projectId: number }
  | { name: "dashboard"; projectId: number }
  | { name: "export"; projectId: number }
  | { name: "review"; projectId: number }
  | { name: "add-studies"; projectId: number }
  | { name: "studies" }
  | { name: "study"; studyUid: string }
  | { name: "history" }
  | { name: "not-found" };

export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, "") || "/";
  if (p === "/" || p === "/app" || p === "/app/projects") return { name: "projects" };
  if (p === "/app/projects/new") return { name: "project-new" };
  let m = /^\/app\/projects\/(\d+)$/.exec(p);
  if (m) return { name: "workspace", projectId: Number(m[1]) };
  m = /^\/app\/projects\/(\d+)\/dashboard$/.exec(p);
  if (m) return { name: "dashboard", projectId: Number(m[1]) };
  m = /^\/app\/projects\/(\d+)\/settings$/.exec(p);
  if (m) return { name: "project-settings", projectId: Number(m[1]) };
  m = /^\/app\/projects\/(\d+)\/team$/.exec(p);
  if (m) return { name: "team", projectId: Number(m[1]) };
  m = /^\/app\/projects\/(\d+)\/export$/.exec(p);
  if (m) return { name: "export", projectId: Number(m[1]) };
  m = /^\/app\/projects\/(\d+)\/review$/.exec(p);
  if (m) return { name: "review", projectId: Number(m[1]) };
  m = /^\/app\/projects\/(\d+)\/studies$/.exec(p);
  if (m) return { name: "add-studies", projectId: Number(m[1]) };
  if (p === "/app/studies") return { name: "studies" };
  m = /^\/app\/studies\/([0-9.]+)$/.exec(p);
  if (m) return { name: "study", studyUid: m[1] };
  if (p === "/app/history") return { name: "history" };
  return { name: "not-found" };
}

/** An <a> that routes on the client for plain left clicks and behaves normally otherwise. */
export function linkHandler(path: string) {
  return (event: React.MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
      return;
    event.preventDefault();
    navigate(path);
  };
}
