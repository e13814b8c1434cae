// Reads an .hlog with hdr-histogram-js and prints, per tag over all its intervals,
// "<tag> <count> <p50> <p90> <p99> <p99.9> <max>" like tests/hdr_interop_writer.c does.
"use strict";
const hdr = require("hdr-histogram-js");
const fs = require("fs");

const reader = new hdr.HistogramLogReader(fs.readFileSync(process.argv[2], "utf8"));
const totals = new Map();
let h;
while ((h = reader.nextIntervalHistogram()) !== null) {
  const tag = h.tag || "";
  if (!totals.has(tag)) {
    totals.set(tag, hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3600000000000,
      numberOfSignificantValueDigits: 3,
    }));
  }
  totals.get(tag).add(h);
}
for (const [tag, t] of totals) {
  console.log([tag, t.totalCount, t.getValueAtPercentile(50), t.getValueAtPercentile(90),
    t.getValueAtPercentile(99), t.getValueAtPercentile(99.9), t.maxValue].join(" "));
}
