/**
 * Kubernetes label selectors in their string form, as `kubectl -l` and the
 * `labelSelector` of a list call take them, parsed and matched the way the
 * apiserver does (k8s.io/apimachinery/pkg/labels):
 *
 *   a=b  a==b   the label a exists and is b
 *   a!=b        a is absent, or is not b
 *   a           a exists (any value)
 *   !a          a is absent
 *   a in (x,y)  a exists and is x or y
 *   a notin (x,y)  a is absent, or is neither x nor y
 *
 * Requirements are separated by commas and must all hold (AND). Whitespace
 * between tokens is ignored. Keys are qualified names (`prefix/name`), values
 * label values (at most 63 characters, possibly empty). The numeric `>` and
 * `<` of the apimachinery parser (node affinity) are refused: no Nozzle
 * selector needs them.
 *
 * The worker checks each message's namespace with the same selector the
 * publisher lists namespaces with, so it must agree with the apiserver.
 */

export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

export type Operator = 'exists' | 'doesNotExist' | 'in' | 'notIn';

export interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  /** For `in` and `notIn` (`=` is `in` with one value, `!=` is `notIn` with one). */
  readonly values: readonly string[];
}

export interface LabelSelector {
  /** The selector as written (trimmed). */
  readonly text: string;
  readonly requirements: readonly Requirement[];
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

type Token =
  | { readonly kind: 'word'; readonly text: string; readonly at: number }
  | {
      readonly kind: '!' | '=' | '==' | '!=' | ',' | '(' | ')' | '<' | '>' | 'end';
      readonly text: string;
      readonly at: number;
    };

const SPECIAL = new Set(['!', '=', ',', '(', ')', '<', '>']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '!' && input[i + 1] === '=') {
      tokens.push({ kind: '!=', text: '!=', at: i });
      i += 2;
    } else if (c === '=' && input[i + 1] === '=') {
      tokens.push({ kind: '==', text: '==', at: i });
      i += 2;
    } else if (SPECIAL.has(c)) {
      tokens.push({ kind: c as '!' | '=' | ',' | '(' | ')' | '<' | '>', text: c, at: i });
      i++;
    } else {
      const start = i;
      while (i < input.length && !/\s/.test(input[i]!) && !SPECIAL.has(input[i]!)) i++;
      tokens.push({ kind: 'word', text: input.slice(start, i), at: start });
    }
  }
  tokens.push({ kind: 'end', text: '', at: input.length });
  return tokens;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw new LabelSelectorError(`"${key}": the prefix must be a DNS subdomain (e.g. example.com)`);
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    throw new LabelSelectorError(
      `"${key}" is not a label key: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, with an optional DNS prefix and '/'`,
    );
  }
}

function checkValue(value: string): void {
  if (value === '') return;
  if (value.length > 63 || !NAME.test(value)) {
    throw new LabelSelectorError(
      `"${value}" is not a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    );
  }
}

/** Parses a selector; throws LabelSelectorError saying what is wrong and where. An empty selector selects everything. */
export function parseLabelSelector(input: string): LabelSelector {
  const text = input.trim();
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const fail = (token: Token, expected: string): never => {
    const found = token.kind === 'end' ? 'the end' : `"${token.text}"`;
    throw new LabelSelectorError(`expected ${expected} at position ${token.at + 1}, found ${found}`);
  };
  const word = (expected: string): string => {
    const token = next();
    return token.kind === 'word' ? token.text : fail(token, expected);
  };

  /** A value after =, == or !=: may be empty (`a=` selects a="" ). */
  const singleValue = (): string => {
    const token = peek();
    if (token.kind === 'word') return next().text;
    if (token.kind === ',' || token.kind === 'end') return '';
    return fail(token, 'a value');
  };

  const valueSet = (): string[] => {
    const open = next();
    if (open.kind !== '(') fail(open, '"(" after in/notin');
    const values: string[] = [];
    for (;;) {
      const token = peek();
      if (token.kind === 'word') {
        values.push(next().text);
      } else if (token.kind === ',' || token.kind === ')') {
        values.push(''); // an empty value between commas, as apimachinery reads it
      } else {
        fail(token, 'a value or ")"');
      }
      const after = next();
      if (after.kind === ')') break;
      if (after.kind !== ',') fail(after, '"," or ")"');
    }
    // `in ()` reads as the one empty value, as in apimachinery.
    return values;
  };

  const requirement = (): Requirement => {
    if (peek().kind === '!') {
      next();
      const key = word('a label key after "!"');
      checkKey(key);
      return { key, operator: 'doesNotExist', values: [] };
    }
    const key = word('a label key');
    checkKey(key);
    const op = peek();
    switch (op.kind) {
      case ',':
      case 'end':
        return { key, operator: 'exists', values: [] };
      case '=':
      case '==':
      case '!=': {
        next();
        const value = singleValue();
        checkValue(value);
        return { key, operator: op.kind === '!=' ? 'notIn' : 'in', values: [value] };
      }
      case '<':
      case '>':
        throw new LabelSelectorError(
          `"${key} ${op.kind} ...": the numeric operators < and > are not supported`,
        );
      case 'word': {
        if (op.text !== 'in' && op.text !== 'notin') return fail(op, 'an operator (=, ==, !=, in, notin)');
        next();
        const values = valueSet();
        values.forEach(checkValue);
        return { key, operator: op.text === 'in' ? 'in' : 'notIn', values };
      }
      default:
        return fail(op, 'an operator (=, ==, !=, in, notin), "," or the end');
    }
  };

  const requirements: Requirement[] = [];
  if (peek().kind !== 'end') {
    for (;;) {
      requirements.push(requirement());
      const token = next();
      if (token.kind === 'end') break;
      if (token.kind !== ',') fail(token, '"," or the end');
    }
  }

  return {
    text,
    requirements,
    matches: (labels) => requirements.every((r) => matchesRequirement(r, labels ?? {})),
  };
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'exists':
      return has;
    case 'doesNotExist':
      return !has;
    case 'in':
      return has && r.values.includes(value!);
    case 'notIn':
      return !has || !r.values.includes(value!);
  }
}
