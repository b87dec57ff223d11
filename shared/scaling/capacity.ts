/**
 * The capacity and latency model shared by the simulator and `dacflow estimate`.
 *
 * Model (stated so its limits are plain): each dedicated-AI-cluster unit is one server of an M/M/c
 * queue. Requests arrive as a Poisson stream of `tokensPerSecond / tokensPerRequest` per second and
 * each takes an exponential service time with mean `tokensPerRequest / tokensPerSecondPerUnit`
 * (500 / 1,500 = 1/3 s with the product-notes numbers). Response time = queueing wait (Erlang C)
 * + service. Real LLM serving batches requests, so this is a deliberately simple, conservative
 * stand-in: it is right about the shape (latency explodes near saturation), not about exact values.
 */

/** The product-notes capacity numbers; every one can be overridden. */
export interface CapacityModel {
  /** About 1,500 tokens/s per unit (product notes: "1 unit is about 1,500 tokens/s"). */
  tokensPerSecondPerUnit: number;
  /** A typical response of 500 tokens (product notes: "a typical 500-token response"). */
  tokensPerRequest: number;
  /** About $1,500 per unit-month (product notes' sizing table). */
  unitCostUsdPerMonth: number;
  /**
   * The P99 reported when demand meets or exceeds capacity: the queue has no steady state then,
   * so the model reports a client timeout instead of infinity.
   */
  saturatedP99Ms: number;
}

export const defaultCapacityModel: Readonly<CapacityModel> = Object.freeze({
  tokensPerSecondPerUnit: 1500,
  tokensPerRequest: 500,
  unitCostUsdPerMonth: 1500,
  saturatedP99Ms: 60_000,
});

/** Hours in the average month (365.25 * 24 / 12), for turning unit-hours into USD. */
export const HOURS_PER_MONTH = 730.5;

/**
 * Erlang C: the probability an arrival waits, for `servers` servers and offered load `a = λ/μ`
 * (in erlangs). Computed with the numerically stable Erlang B recurrence, so hundreds of servers
 * neither overflow nor lose precision.
 */
export function erlangC(servers: number, offeredLoad: number): number {
  if (servers <= 0) return 1;
  if (offeredLoad <= 0) return 0;
  if (offeredLoad >= servers) return 1;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (offeredLoad * b) / (k + offeredLoad * b);
  const rho = offeredLoad / servers;
  return b / (1 - rho + rho * b);
}

/** P(response time > t) for M/M/c: wait is 0 w.p. 1-C, else Exp(θ = cμ-λ); service is Exp(μ). */
function tailProbability(t: number, c: number, mu: number, theta: number): number {
  const serviceTail = Math.exp(-mu * t);
  let sumTail: number;
  if (Math.abs(theta - mu) < 1e-9 * mu) sumTail = (1 + mu * t) * serviceTail;
  else sumTail = (theta * serviceTail - mu * Math.exp(-theta * t)) / (theta - mu);
  return (1 - c) * serviceTail + c * sumTail;
}

/**
 * The P99 response time in ms of `units` units carrying `tokensPerSecond`, under the M/M/c model
 * above. Demand at or over capacity (or zero units with demand) gives `saturatedP99Ms`.
 */
export function p99LatencyMs(
  tokensPerSecond: number,
  units: number,
  model: CapacityModel = defaultCapacityModel,
  quantile = 0.99,
): number {
  const mu = model.tokensPerSecondPerUnit / model.tokensPerRequest;
  const lambda = Math.max(0, tokensPerSecond) / model.tokensPerRequest;
  if (lambda === 0) return (Math.log(1 / (1 - quantile)) / mu) * 1000;
  if (units <= 0 || lambda >= units * mu) return model.saturatedP99Ms;
  const c = erlangC(units, lambda / mu);
  const theta = units * mu - lambda;
  const target = 1 - quantile;
  // Bisection on the monotone tail: 60 halvings of [0, hi] is far below a millisecond.
  let lo = 0;
  let hi = 1;
  while (tailProbability(hi, c, mu, theta) > target && hi < model.saturatedP99Ms / 1000) hi *= 2;
  if (tailProbability(hi, c, mu, theta) > target) return model.saturatedP99Ms;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (tailProbability(mid, c, mu, theta) > target) lo = mid;
    else hi = mid;
  }
  return Math.min(hi * 1000, model.saturatedP99Ms);
}

/** Demand over capacity in percent, capped at 100 as a GPU utilization metric would be. */
export function utilizationPct(
  tokensPerSecond: number,
  units: number,
  model: CapacityModel,
): number {
  if (units <= 0) return tokensPerSecond > 0 ? 100 : 0;
  return Math.min(
    100,
    (100 * Math.max(0, tokensPerSecond)) / (units * model.tokensPerSecondPerUnit),
  );
}

/**
 * The fewest units whose P99 stays at or under `p99TargetMs` for this demand. Starts from the
 * throughput bound and walks up, so it is exact for the model and cheap (a few steps).
 */
export function unitsForLatency(
  tokensPerSecond: number,
  p99TargetMs: number,
  model: CapacityModel = defaultCapacityModel,
  minUnits = 1,
): number {
  let units = Math.max(minUnits, Math.ceil(tokensPerSecond / model.tokensPerSecondPerUnit));
  // With no demand the service time alone sets P99; if even that misses the target, one unit is
  // as good as any, so stop rather than loop.
  for (let i = 0; i < 10_000; i++) {
    if (p99LatencyMs(tokensPerSecond, units, model) <= p99TargetMs) return units;
    if (tokensPerSecond <= 0) return units;
    units++;
  }
  return units;
}
