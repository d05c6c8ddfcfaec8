/**
 * The pages' stylesheet, inlined into each page (no external assets). Which
 * parts show in which phase is decided here, from `data-phase` on <main>, so
 * the in-page script only ever changes that attribute and some numbers.
 */
import { dark, light, type Palette } from './palette.js';
import type { WakePhase } from './status.js';

const phases: readonly WakePhase[] = ['sleeping', 'waking', 'ready', 'failed'];

function variables(p: Palette): string {
  return (
    `--bg:${p.bg};--surface:${p.surface};--border:${p.border};--text:${p.text};--muted:${p.muted};` +
    `--accent:${p.accent};--on-accent:${p.onAccent};--track:${p.track};--ok:${p.ok};` +
    `--danger:${p.danger};--danger-bg:${p.dangerBg};--code-bg:${p.codeBg};--focus:${p.focus}`
  );
}

/** `<main data-phase=P>` hides every `[data-show]` element whose list does not name P. */
const phaseRules = phases.map((p) => `#nz[data-phase=${p}] [data-show]:not([data-show~=${p}])`).join(',\n');

export const STYLES = `
:root{color-scheme:light dark;${variables(light)}}
@media (prefers-color-scheme:dark){:root{${variables(dark)}}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;background:var(--bg);color:var(--text);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.nz-header{display:flex;align-items:center;gap:.5rem;width:100%;max-width:40rem;margin:0 auto;padding:1.25rem 1rem .75rem;
color:var(--muted);font-weight:600;font-size:.9375rem;letter-spacing:.01em}
.nz-header svg{width:1.375rem;height:1.375rem;color:var(--accent);flex:none}
main{flex:1;width:100%;max-width:40rem;margin:0 auto;padding:0 1rem 1.5rem}
.nz-card{background:var(--surface);border:1px solid var(--border);border-radius:14px;padding:1.75rem 1.75rem 1.5rem;
box-shadow:0 1px 2px rgba(16,24,40,.05),0 4px 16px rgba(16,24,40,.06)}
.nz-badge{display:flex;align-items:center;gap:.5rem;margin:0 0 .5rem;font-size:.8125rem;font-weight:700;
letter-spacing:.06em;text-transform:uppercase;color:var(--accent)}
.nz-badge [data-show~=ready]{color:var(--ok)}
.nz-badge [data-show~=failed]{color:var(--danger)}
.nz-pulse{width:.625rem;height:.625rem;border-radius:50%;background:currentColor;flex:none;
animation:nz-pulse 1.4s ease-in-out infinite}
@keyframes nz-pulse{0%,100%{opacity:1;transform:scale(1)}50%{opacity:.3;transform:scale(.65)}}
h1{font-size:1.625rem;line-height:1.25;margin:0 0 .625rem;overflow-wrap:anywhere;word-break:break-word}
p{margin:0 0 1rem}
.nz-card>:last-child{margin-bottom:0}
.nz-lead{color:var(--muted)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.875em;
background:var(--code-bg);color:var(--text);padding:.1em .35em;border-radius:5px;overflow-wrap:anywhere}
a{color:var(--accent)}
a:focus-visible{outline:3px solid var(--focus);outline-offset:2px;border-radius:4px}
.nz-progress{margin:1.5rem 0 0}
.nz-head{display:flex;align-items:baseline;gap:.5rem;margin:0 0 .375rem}
.nz-label{font-weight:600}
.nz-name{font-weight:600;overflow-wrap:anywhere;min-width:0}
.nz-kind{color:var(--muted);font-size:.8125rem}
.nz-count{margin-left:auto;padding-left:.5rem;font-variant-numeric:tabular-nums;font-weight:600;white-space:nowrap}
progress{-webkit-appearance:none;appearance:none;display:block;width:100%;height:.5rem;border:0;border-radius:999px;
background:var(--track);color:var(--accent);overflow:hidden}
progress::-webkit-progress-bar{background:var(--track);border-radius:999px}
progress::-webkit-progress-value{background:var(--accent);border-radius:999px;transition:width .5s ease}
progress::-moz-progress-bar{background:var(--accent);border-radius:999px}
.nz-total progress{height:.75rem}
.nz-total{padding:0 0 1.25rem;margin:0 0 1.25rem;border-bottom:1px solid var(--border)}
.nz-list{list-style:none;margin:0;padding:0;display:grid;gap:1rem}
.nz-row[data-done=true] progress::-webkit-progress-value{background:var(--ok)}
.nz-row[data-done=true] progress::-moz-progress-bar{background:var(--ok)}
.nz-row[data-done=true] .nz-count{color:var(--ok)}
.nz-row[data-done=true] .nz-notready{display:none}
.nz-notready{color:var(--danger);font-size:.8125rem;font-weight:700;white-space:nowrap}
#nz[data-phase=failed] .nz-row[data-done=false] .nz-count{color:var(--danger)}
#nz[data-phase=failed] .nz-row[data-done=false] progress::-webkit-progress-value{background:var(--danger)}
#nz[data-phase=failed] .nz-row[data-done=false] progress::-moz-progress-bar{background:var(--danger)}
.nz-meta{color:var(--muted);font-size:.875rem;margin:1.25rem 0 0}
#nz-elapsed-line[data-known=false] .nz-elapsed-part{display:none}
.nz-failed{border-left:4px solid var(--danger);background:var(--danger-bg);border-radius:8px;padding:1rem 1.125rem;margin:1.25rem 0 0}
.nz-failed h2{font-size:1rem;margin:0 0 .375rem;color:var(--danger)}
.nz-failed p:last-child,.nz-failed ul:last-child{margin-bottom:0}
.nz-failed ul{margin:0 0 1rem;padding-left:1.25rem}
.nz-message{white-space:pre-line;overflow-wrap:anywhere}
.nz-button{display:inline-flex;align-items:center;min-height:44px;padding:.5rem 1.125rem;border-radius:8px;
background:var(--accent);color:var(--on-accent);font-weight:600;text-decoration:none}
.nz-actions{margin:1.25rem 0 0}
.nz-footer{width:100%;max-width:40rem;margin:0 auto;padding:0 1rem 1.5rem;color:var(--muted);font-size:.8125rem;text-align:center}
.nz-footer p{margin:0}
.nz-sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
${phaseRules}{display:none}
[hidden]{display:none!important}
@media (min-width:40rem) and (min-height:36rem){.nz-header{padding-top:3rem}main{padding-bottom:3rem}}
@media (max-width:30rem){
.nz-header{padding:1rem .75rem .5rem}
main{padding:0 .5rem 1rem}
.nz-card{padding:1.25rem 1rem 1.125rem;border-radius:12px}
h1{font-size:1.375rem}
.nz-footer{padding:0 .75rem 1rem}
}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important}}
`.trim();
