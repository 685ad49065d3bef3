/** The doctors' work: labels per day and per doctor, time per label, agreement, queue, skips. */
import type { DashboardData } from "./api";
import { ChartBox, PALETTE } from "./ChartBox";
import { barChart, groupedBarChart } from "./charts";
import {
  agreementPerDoctor,
  labelsPerDay,
  labelsPerDoctor,
  queueBars,
  skipReasons,
  timePerLabel,
} from "./series";

export function WorkCharts({ data }: { data: DashboardData }) {
  const perDay = labelsPerDay(data);
  const perDoctor = labelsPerDoctor(data);
  const time = timePerLabel(data);
  const queue = queueBars(data);
  const skips = skipReasons(data);
  const agreement = agreementPerDoctor(data);
  const hasAgreement = agreement.groups.some((g) => g.values.some((v) => v !== null));
  const t = data.time_per_label;
  return (
    <>
      <ChartBox
        id="labels-per-day"
        title="Labels per day"
        points={perDay}
        config={barChart(perDay, "labels")}
        empty={perDay.values.length ? null : "No labels yet."}
      />
      <ChartBox
        id="labels-per-doctor"
        title="Labels per doctor"
        points={perDoctor}
        config={barChart(perDoctor, "labels", PALETTE[1])}
        empty={perDoctor.values.length ? null : "No labels yet."}
      />
      <ChartBox
        id="time-per-label"
        title={`Time per label (median ${t.median_ms === null ? "—" : (t.median_ms / 1000).toFixed(1)} s over ${t.n})`}
        points={time}
        config={barChart(time, "median seconds", PALETTE[3], 1)}
        empty={time.values.length ? null : "No labels yet."}
      />
      <ChartBox
        id="agreement-per-doctor"
        title="Agreement per doctor"
        points={agreement}
        config={groupedBarChart(agreement)}
        empty={hasAgreement ? null : "No item read by two doctors or adjudicated yet."}
      />
      <ChartBox
        id="queue"
        title={`Queue (${data.queue.items} items)`}
        points={queue}
        config={barChart(queue, "items", PALETTE[4])}
      />
      <ChartBox
        id="skip-reasons"
        title="Skip reasons"
        points={skips}
        config={barChart(skips, "skips", PALETTE[2])}
        empty={skips.values.length ? null : "Nothing skipped."}
      />
    </>
  );
}
