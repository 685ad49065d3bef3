import { describe, expect, it } from "vitest";
import { REMAINING_CAP, afterSubmit, formatRemaining } from "./remainingCount";

describe("remaining count", () => {
  it("shows an exact count below the server's cap and 'cap+' at it", () => {
    expect(formatRemaining(0)).toBe("0");
    expect(formatRemaining(REMAINING_CAP - 1)).toBe("999");
    expect(formatRemaining(REMAINING_CAP)).toBe("1000+");
  });

  it("counts down after a submit only when the count was exact", () => {
    expect(afterSubmit(5)).toBe(4);
    expect(afterSubmit(0)).toBe(0);
    expect(afterSubmit(REMAINING_CAP)).toBe(REMAINING_CAP);
  });
});
