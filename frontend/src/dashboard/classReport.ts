/** Pure helpers of the per-class table and the two-version comparison (ClassReport.tsx). */
import type { ClassReport, ClassRow, RegistryRow } from "./api";

export interface ComparedRow {
  name: string;
  before: ClassRow | null;
  after: ClassRow | null;
  /** after − before of F1; null when either side lacks it. */
  deltaF1: number | null;
}

/** Rows of both versions matched by class name (classes of either), then the averages. */
export function compareReports(
  before: ClassReport | null | undefined,
  after: ClassReport | null | undefined,
): { classes: ComparedRow[]; averages: ComparedRow[] } {
  const pair = (a: ClassRow[], b: ClassRow[]): ComparedRow[] => {
    const names = [...b.map((r) => r.name), ...a.map((r) => r.name)].filter(
      (name, i, all) => all.indexOf(name) === i,
    );
    return names.map((name) => {
      const x = a.find((r) => r.name === name) ?? null;
      const y = b.find((r) => r.name === name) ?? null;
      const deltaF1 = x?.f1 != null && y?.f1 != null ? y.f1 - x.f1 : null;
      return { name, before: x, after: y, deltaF1 };
    });
  };
  return {
    classes: pair(before?.rows ?? [], after?.rows ?? []),
    averages: pair(before?.averages ?? [], after?.averages ?? []),
  };
}

/** The versions to show first: the active one (else the newest), against its predecessor. */
export function defaultPair(rows: RegistryRow[]): {
  shown: number | null;
  compared: number | null;
} {
  const withTable = rows.filter((r) => r.class_report);
  const shown = withTable.find((r) => r.status === "active") ?? withTable[0];
  if (!shown) return { shown: null, compared: null };
  const older = withTable.filter((r) => r.number < shown.number);
  return { shown: shown.number, compared: older.length ? older[0].number : null };
}
