/**
 * The pages' colours, light and dark (the page follows the browser's
 * `prefers-color-scheme`). Kept as data so the unit tests can check every text
 * and control pairing against WCAG AA (4.5:1 for text, 3:1 for bars and focus).
 */
export interface Palette {
  readonly bg: string;
  readonly surface: string;
  readonly border: string;
  readonly text: string;
  readonly muted: string;
  readonly accent: string;
  /** Text on an `accent` background (the button). */
  readonly onAccent: string;
  readonly track: string;
  readonly ok: string;
  readonly danger: string;
  readonly dangerBg: string;
  readonly codeBg: string;
  readonly focus: string;
}

export const light: Palette = {
  bg: '#f3f5f8',
  surface: '#ffffff',
  border: '#d3dae3',
  text: '#16202b',
  muted: '#4a5562',
  accent: '#0b5fcf',
  onAccent: '#ffffff',
  track: '#dde3ea',
  ok: '#17803a',
  danger: '#b42318',
  dangerBg: '#fdeceb',
  codeBg: '#eef1f5',
  focus: '#0b5fcf',
};

export const dark: Palette = {
  bg: '#0d1117',
  surface: '#161b22',
  border: '#30363d',
  text: '#e6edf3',
  muted: '#a0abb8',
  accent: '#5ea8ff',
  onAccent: '#0d1117',
  track: '#2f3742',
  ok: '#3fb950',
  danger: '#ff8178',
  dangerBg: '#2f1517',
  codeBg: '#222a33',
  focus: '#5ea8ff',
};

/** Pairs that must meet AA: [foreground, background, minimum ratio, what it is]. */
export function contrastPairs(p: Palette): readonly (readonly [string, string, number, string])[] {
  return [
    [p.text, p.surface, 4.5, 'text on the card'],
    [p.text, p.bg, 4.5, 'text on the page'],
    [p.muted, p.surface, 4.5, 'secondary text on the card'],
    [p.muted, p.bg, 4.5, 'secondary text (header, footer) on the page'],
    [p.text, p.codeBg, 4.5, 'code'],
    [p.accent, p.surface, 4.5, 'status badge and links on the card'],
    [p.onAccent, p.accent, 4.5, 'button label'],
    [p.danger, p.surface, 4.5, '"not ready" on the card'],
    [p.text, p.dangerBg, 4.5, 'failure panel text'],
    [p.danger, p.dangerBg, 4.5, 'failure panel heading'],
    [p.ok, p.surface, 4.5, '"ready" on the card'],
    [p.accent, p.track, 3, 'progress bar against its track'],
    [p.ok, p.track, 3, 'completed bar against its track'],
    [p.focus, p.surface, 3, 'focus ring'],
  ];
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours. */
export function contrastRatio(a: string, b: string): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => {
    const c = parseInt(h ?? '0', 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
