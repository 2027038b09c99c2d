/**
 * Intuit's per-realm limits on the Accounting API: requests per window, batch requests per
 * window, requests in flight. The windows slide on the real clock (not the sandbox clock): they
 * meter how fast a client really calls, which is what a benchmark wants to see.
 */

export interface LimitOptions {
  /** Requests per window per realm (Intuit: 500 a minute). */
  perMinute?: number;
  /** Requests in flight per realm (Intuit: 10). */
  concurrent?: number;
  /** Batch requests per window per realm (Intuit: 40 a minute, sources say up to 120). */
  batchPerMinute?: number;
  /**
   * Length of the window, default 60000. A shorter window runs the sandbox time-scaled:
   * 6000 allows perMinute requests every 6 s, i.e. Intuit's limits 10x faster.
   */
  windowMs?: number;
}

export const INTUIT_LIMITS: Required<Omit<LimitOptions, 'windowMs'>> = { perMinute: 500, concurrent: 10, batchPerMinute: 40 };

/** What the limiter decided for one request; `release` must run once the request is answered. */
export type Admission = { ok: true; release: () => void } | { ok: false; why: 'per-window' | 'batch-per-window' | 'concurrent' };

/** Timestamps inside one sliding window. Old entries are dropped from the front. */
class Window {
  private times: number[] = [];

  /** Records `t` unless the window already holds `max` entries. */
  tryAdd(t: number, windowMs: number, max: number): boolean {
    let drop = 0;
    while (drop < this.times.length && (this.times[drop] as number) <= t - windowMs) drop++;
    if (drop > 0) this.times = this.times.slice(drop);
    if (this.times.length >= max) return false;
    this.times.push(t);
    return true;
  }
}

interface RealmState {
  requests: Window;
  batches: Window;
  inFlight: number;
  peak: number;
  throttled: number;
}

/**
 * Counts in-flight requests and their peak for every realm even with limits off: a benchmark
 * proves its client stayed under Intuit's 10 by reading `peakConcurrency`, limits or not.
 */
export class Limiter {
  private readonly realms = new Map<string, RealmState>();
  private readonly windowMs: number;

  constructor(private readonly limits: LimitOptions | undefined) {
    this.windowMs = limits?.windowMs ?? 60_000;
    if (!(this.windowMs > 0)) throw new Error(`limits.windowMs must be positive, got ${this.windowMs}`);
  }

  private state(realmId: string): RealmState {
    let s = this.realms.get(realmId);
    if (!s) {
      s = { requests: new Window(), batches: new Window(), inFlight: 0, peak: 0, throttled: 0 };
      this.realms.set(realmId, s);
    }
    return s;
  }

  /**
   * Admits or refuses one API request. Order as Intuit's gateway would see it: every request
   * counts against the window, a batch also against the batch window, then concurrency. A
   * refused request still shows in the peak: it was in flight as far as the client knows.
   */
  admit(realmId: string, isBatch: boolean, now = Date.now()): Admission {
    const s = this.state(realmId);
    const l = this.limits;
    const arriving = s.inFlight + 1;
    s.peak = Math.max(s.peak, arriving);
    const refuse = (why: 'per-window' | 'batch-per-window' | 'concurrent'): Admission => {
      s.throttled++;
      return { ok: false, why };
    };
    if (l?.perMinute !== undefined && !s.requests.tryAdd(now, this.windowMs, l.perMinute)) return refuse('per-window');
    if (isBatch && l?.batchPerMinute !== undefined && !s.batches.tryAdd(now, this.windowMs, l.batchPerMinute)) {
      return refuse('batch-per-window');
    }
    if (l?.concurrent !== undefined && arriving > l.concurrent) return refuse('concurrent');
    s.inFlight = arriving;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        s.inFlight--;
      },
    };
  }

  throttled(realmId: string): number {
    return this.realms.get(realmId)?.throttled ?? 0;
  }

  peakConcurrency(realmId: string): number {
    return this.realms.get(realmId)?.peak ?? 0;
  }

  /** Forgets counts and peaks (not the windows, not what is in flight). */
  resetStats(): void {
    for (const s of this.realms.values()) {
      s.throttled = 0;
      s.peak = s.inFlight;
    }
  }
}
