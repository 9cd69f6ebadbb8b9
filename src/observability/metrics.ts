import { Controller, Get, Header, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { Public } from '../api-keys/auth.decorators';

/** One registry per process: Prometheus scrapes each process (api and worker) on its own. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpDuration = new Histogram({
  name: 'edm_http_request_duration_seconds',
  help: 'HTTP request duration by route and status',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [registry],
});

// One histogram child per method, route and status, looked up by a string: observing through the
// labels object would hash it on every request, and the tracking routes answer tens of thousands a second.
const timers = new Map<string, { observe(seconds: number): void }>();

/** An answered request, in edm_http_request_duration_seconds. */
export function observeRequest(method: string, route: string, status: number, seconds: number): void {
  const key = `${method} ${route} ${status}`;
  let timer = timers.get(key);
  if (!timer) timers.set(key, (timer = httpDuration.labels({ method, route, status: String(status) })));
  timer.observe(seconds);
}

export const eventsLost = new Counter({
  name: 'edm_tracking_events_lost_total',
  help: 'Opens, clicks and conversion pixels answered but not recorded: the Redis buffer refused their event',
  labelNames: ['type'],
  registers: [registry],
});

export const eventsIngested = new Counter({
  name: 'edm_events_ingested_total',
  help: 'Tracking events applied to Postgres by this process (replays of already applied events not counted)',
  registers: [registry],
});

@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  @Public()
  @Get()
  @Header('content-type', registry.contentType)
  metrics(): Promise<string> {
    return registry.metrics();
  }
}

@Module({ controllers: [MetricsController] })
export class MetricsModule {}
