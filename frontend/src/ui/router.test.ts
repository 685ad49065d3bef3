import { describe, expect, it } from "vitest";

// router.ts listens to window events; give Node the one it needs.
globalThis.window ??= { addEventListener: () => undefined } as unknown as Window &
  typeof globalThis;
const { matchRoute } = await import("./router");

describe("client routes", () => {
  it("maps the home page and the workspace", () => {
    expect(matchRoute("/")).toEqual({ name: "projects" });
    expect(matchRoute("/app/projects/12")).toEqual({ name: "workspace", projectId: 12 });
    expect(matchRoute("/app/projects/12/dashboard")).toEqual({ name: "dashboard", projectId: 12 });
    expect(matchRoute("/app/projects/12/export")).toEqual({ name: "export", projectId: 12 });
    expect(matchRoute("/app/projects/12/review")).toEqual({ name: "review", projectId: 12 });
  });

  it("maps the project create, settings and team pages", () => {
    expect(matchRoute("/app/projects/new")).toEqual({ name: "project-new" });
    expect(matchRoute("/app/projects/7/settings")).toEqual({
      name: "project-settings",
      projectId: 7,
    });
    expect(matchRoute("/app/projects/7/team/")).toEqual({ name: "team", projectId: 7 });
    expect(matchRoute("/app/projects/12/studies")).toEqual({ name: "add-studies", projectId: 12 });
  });

  it("maps the study browser, a study and the history", () => {
    expect(matchRoute("/app/studies/")).toEqual({ name: "studies" });
    expect(matchRoute("/app/studies/1.2.840.1")).toEqual({ name: "study", studyUid: "1.2.840.1" });
    expect(matchRoute("/app/history")).toEqual({ name: "history" });
  });

  it("says not found for anything else", () => {
    expect(matchRoute("/app/nope")).toEqual({ name: "not-found" });
  });
});
