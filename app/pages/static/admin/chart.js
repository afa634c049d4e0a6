// Bar charts drawn as SVG in the page (no library, nothing inline for the CSP to refuse):
// one group of bars per bucket, one colour per series, a title on each bar.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 200;
const MARGIN = { top: 10, right: 10, bottom: 24, left: 40 };

function svgElement(name, attributes = {}, text) {
  const made = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, String(value));
  if (text !== undefined) made.textContent = text;
  return made;
}

// series: [{ name, key, className }]; buckets: the API's; label(bucket): the x label.
export function barChart(container, { buckets, series, label, summary }) {
  const svg = svgElement("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary, class: "bars",
  });
  const top = Math.max(1, ...buckets.flatMap((b) => series.map((s) => b[s.key])));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / buckets.length;
  const barWidth = Math.max(1, (slot * 0.8) / series.length);
  svg.append(svgElement("text", { x: 0, y: MARGIN.top + 10, class: "axis" }, String(top)));
  svg.append(svgElement("text", { x: 0, y: HEIGHT - MARGIN.bottom, class: "axis" }, "0"));
  buckets.forEach((bucket, index) => {
    series.forEach((one, order) => {
      const value = bucket[one.key];
      const height = (value / top) * plotHeight;
      const bar = svgElement("rect", {
        x: MARGIN.left + index * slot + order * barWidth, y: MARGIN.top + plotHeight - height,
        width: barWidth, height, class: one.className,
      });
      bar.append(svgElement("title", {}, `${label(bucket)}: ${value} ${one.name}`));
      svg.append(bar);
    });
    if (index % Math.ceil(buckets.length / 8) === 0) {
      svg.append(svgElement("text", {
        x: MARGIN.left + index * slot, y: HEIGHT - 6, class: "axis",
      }, label(bucket)));
    }
  });
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const one of series) {
    const item = document.createElement("li");
    item.append(svgElement("svg", { width: 12, height: 12, "aria-hidden": "true" }));
    item.firstChild.append(svgElement("rect", { width: 12, height: 12, class: one.className }));
    item.append(document.createTextNode(` ${one.name}`));
    legend.append(item);
  }
  container.replaceChildren(svg, legend);
}
