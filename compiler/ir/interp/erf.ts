// erf and erfc to about 1e-15 relative, for the exact (erf) GELU. Two classical expansions, each used
// where it converges fast and without cancellation:
//  - |x| < 2.5: erf(x) = 2/sqrt(pi) * exp(-x²) * Σ_n 2^n x^(2n+1) / (1·3·…·(2n+1)); every term is
//    positive, so there is no cancellation (unlike the Taylor series), ~50 terms at 2.5.
//  - |x| >= 2.5: erfc(x) = exp(-x²)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), the Laplace
//    continued fraction, evaluated bottom-up; erfc keeps full relative accuracy in the far tail,
//    which matters for gelu(x) = x/2 * erfc(-x/sqrt(2)) at large negative x.
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const SWITCH = 2.5;

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc(x) for x >= SWITCH by the continued fraction (depth chosen for 1e-16 at x = 2.5). */
function erfcFraction(x: number): number {
  let t = x;
  for (let n = 120; n >= 1; n--) t = x + n / 2 / t;
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / t;
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < SWITCH) return erfSeries(x);
  const r = 1 - erfcFraction(a);
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= SWITCH) return erfcFraction(x);
  if (x <= -SWITCH) return 2 - erfcFraction(-x);
  return 1 - erfSeries(x);
}
