import { describe, expect, it } from "vitest";

import { ApiError } from "../../api/http";
import { errorsOf, formErrors } from "./fieldErrors";

describe("formErrors", () => {
  it("maps field errors to their fields and keeps the reason", () => {
    const e = formErrors({
      lease_seconds: ["30 s to 24 h"],
      name: ["This field may not be blank."],
    });
    expect(e.fields).toEqual({
      lease_seconds: ["30 s to 24 h"],
      name: ["This field may not be blank."],
    });
    expect(e.general).toEqual([]);
  });

  it("puts a class's errors on its row, whether DRF keyed them by position or listed them", () => {
    const keyed = formErrors({ label_classes: { "2": { color: ["a CSS hex colour"] } } });
    expect(keyed.classes).toEqual({ 2: { color: ["a CSS hex colour"] } });
    const listed = formErrors({ label_classes: [{}, { shortcut: ["one letter"] }] });
    expect(listed.classes).toEqual({ 1: { shortcut: ["one letter"] } });
    expect(listed.classList).toEqual([]);
  });

  it("keeps errors about the whole class list apart", () => {
    const e = formErrors({
      label_classes: ["cannot delete 'lesion': 2 annotation(s) use it"],
    });
    expect(e.classList).toEqual(["cannot delete 'lesion': 2 annotation(s) use it"]);
    expect(e.classes).toEqual({});
  });

  it("turns detail and non-field errors into general messages", () => {
    expect(formErrors({ detail: "no" }).general).toEqual(["no"]);
    expect(formErrors({ non_field_errors: ["a", "b"] }).general).toEqual(["a", "b"]);
  });

  it("reads a failed save: a 400 by field, anything else as one message", () => {
    const bad = new ApiError(400, { readers_per_item: ["1 to 20 readers per item"] }, "x");
    expect(errorsOf(bad).fields.readers_per_item).toEqual(["1 to 20 readers per item"]);
    const forbidden = new ApiError(403, { detail: "nope" }, "x");
    expect(errorsOf(forbidden).general[0]).toMatch(/admins/);
  });
});
