/**
 * Markup for the waiting page's progress: the overall bar and one row per
 * workload. The in-page script (script.ts) updates exactly these elements by
 * class (`.nz-frac`, `.nz-said`, `progress`) and clones the #nz-row template
 * for a workload it has not seen, so the structure lives here only.
 */
import { html } from './escape.js';
import { isWorkloadReady, readyTowardDesired, totals } from './format.js';
import type { WorkloadProgress } from './status.js';

interface Parts {
  /** `2/3` for the eye, `2 of 3 ready` for screen readers. */
  readonly count: string;
  readonly bar: string;
}

function progressParts(ready: number, desired: number, noun: string, labelledBy?: string): Parts {
  const said = `${ready} of ${desired} ${noun}`;
  const label = labelledBy ? ` aria-labelledby="${labelledBy}"` : '';
  return {
    count:
      `<span class="nz-count"><span class="nz-frac" aria-hidden="true">${ready}/${desired}</span>` +
      `<span class="nz-said nz-sr">${html(said)}</span></span>`,
    bar: `<progress max="${Math.max(desired, 1)}" value="${ready}"${label} aria-valuetext="${html(said)}"></progress>`,
  };
}

/** One workload. `index` names its label's id; the template row has none (the script assigns one). */
export function renderWorkloadRow(workload: WorkloadProgress, index?: number): string {
  const desired = Math.max(workload.desired, 0);
  const id = index === undefined ? undefined : `nz-w${index}`;
  const parts = progressParts(readyTowardDesired(workload), desired, 'ready', id);
  return (
    `<li class="nz-row" data-key="${html(`${workload.kind}/${workload.name}`)}" data-done="${isWorkloadReady(workload)}">` +
    `<div class="nz-head" aria-atomic="true">` +
    `<span class="nz-name"${id ? ` id="${id}"` : ''}>${html(workload.name)}</span>` +
    `<span class="nz-kind">${html(workload.kind)}</span>` +
    `<span class="nz-notready" data-show="failed">not ready</span>` +
    parts.count +
    `</div>${parts.bar}</li>`
  );
}

/** The overall bar, the per-workload list and the script's row template, inside the live region. */
export function renderProgress(workloads: readonly WorkloadProgress[]): string {
  const all = totals(workloads);
  const overall = progressParts(all.ready, all.desired, 'replicas ready', 'nz-total-label');
  const rows = workloads.map((w, i) => renderWorkloadRow(w, i)).join('\n');
  const template = renderWorkloadRow({ kind: 'Deployment', name: '', ready: 0, desired: 1 });
  return `<section class="nz-progress" aria-labelledby="nz-progress-title">
<h2 class="nz-sr" id="nz-progress-title">Progress</h2>
<div id="nz-live" aria-live="polite">
<div class="nz-total" id="nz-total">
<div class="nz-head" aria-atomic="true"><span class="nz-label" id="nz-total-label">Overall</span>${overall.count}</div>
${overall.bar}
</div>
<ul class="nz-list" id="nz-list">
${rows}
</ul>
<p class="nz-meta" id="nz-offline" hidden>Can’t reach the server right now. Still trying…</p>
</div>
<template id="nz-row">${template}</template>
</section>`;
}
