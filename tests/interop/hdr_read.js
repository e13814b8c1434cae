// hdr-histogram-js side of the interoperability tests.
//   node hdr_read.js IN.hlog           reads an .hlog (written by agentperf) and prints, per
//                                      tag over all its intervals, the figures below;
//   node hdr_read.js --write OUT.hlog  writes an .hlog of its own and prints its figures.
// Figures: "<tag> <count> <p50> <p90> <p99> <p99.9> <max>", as tests/hdr_interop_writer.c.
"use strict";
const hdr = require("hdr-histogram-js");
const fs = require("fs");

function histogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3600000000000,
    numberOfSignificantValueDigits: 3,
  });
}

function report(totals) {
  for (const [tag, t] of totals) {
    console.log([tag, t.totalCount, t.getValueAtPercentile(50), t.getValueAtPercentile(90),
      t.getValueAtPercentile(99), t.getValueAtPercentile(99.9),
      t.highestEquivalentValue(t.maxValue)].join(" ")); // max in the reference convention
  }
}

const totals = new Map();
function add(tag, h) {
  if (!totals.has(tag)) totals.set(tag, histogram());
  totals.get(tag).add(h);
}

if (process.argv[2] === "--write") {
  const out = [];
  const writer = new hdr.HistogramLogWriter((text) => out.push(text));
  writer.outputLogFormatVersion();
  writer.outputStartTime(1764460800000);
  writer.outputLegend();
  for (let k = 0; k < 4; k++) {
    const h = histogram();
    h.tag = k % 2 ? "jsB.task_execution_time" : "jsA.coordination_overhead";
    // Counts are multiples of 1000 so that percentile rank conventions coincide.
    for (let i = 1; i <= 10000 * (k + 1); i++) {
      h.recordValue(k === 0 ? i * 1000 : 1 + ((i * 2654435761) % 2 ** (20 + 3 * k)));
    }
    writer.outputIntervalHistogram(h, 10 * k, 10 * k + 10, 1000000);
    add(h.tag, h);
  }
  fs.writeFileSync(process.argv[3], out.join(""));
} else {
  const reader = new hdr.HistogramLogReader(fs.readFileSync(process.argv[2], "utf8"));
  let h;
  while ((h = reader.nextIntervalHistogram()) !== null) add(h.tag || "-", h);
}
report(totals);
