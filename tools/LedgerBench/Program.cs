using System.Diagnostics;
using System.Globalization;
using Gateway.Aspire.Accounting.Analytics;
using Gateway.Aspire.Accounting.Data;
using Gateway.Aspire.Accounting.Grpc;
using Gateway.Aspire.Accounting.Ledger;
using Gateway.Aspire.Hosting.Servers;
using Gateway.Aspire.LedgerBench;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

// Usage: dotnet run -c Release --project tools/LedgerBench -- [target rows, default 10000000] [data directory] [stop seeding at] [sql] [mode]
// "sql" seeds the same calls with set-based SQL (SyntheticUsageSql), far faster than through the writer.
// Mode (default "all": ingestion, seeding, queries, ingestion again): "seed" stops after seeding;
// "dense=<rows>" then writes that many calls into the current hour through the writer (a busy
// hour ending now) and stops; "queries" only times the queries, with "now" = just after the newest
// row, so the same frozen ledger can be queried by two builds one after the other.
// Starts its own durable PostgreSQL (the AppHost's launcher), so fsync is on as in production.
var seedRows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
// Optional: stop seeding at this many rows (a time-boxed run); the queries then run on what is there.
var seedLimit = args.Length > 2 ? long.Parse(args[2], CultureInfo.InvariantCulture) : seedRows;
var seedTo = Math.Min(seedRows, seedLimit);
var directory = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "ledger-bench");
var mode = args.Length > 4 ? args[4] : "all";
var ct = CancellationToken.None;
Directory.CreateDirectory(directory);
await using var server = await PostgresServer.StartAsync(
    new PostgresServerOptions { DataDirectory = Path.Combine(directory, "data"), Output = TextWriter.Null }, ct);
await server.EnsureDatabaseAsync("ledgerbench", ct);
await using var dataSource = NpgsqlDataSource.Create(server.GetConnectionString("ledgerbench"));
await new SchemaMigrator(dataSource, NullLogger<SchemaMigrator>.Instance).MigrateAsync(AccountingMigrations.Schema, AccountingMigrations.All, ct);

var partitions = new LedgerPartitions(dataSource);
var rollup = new UsageRollup(dataSource, Options.Create(new LedgerOptions()), TimeProvider.System, NullLogger<UsageRollup>.Instance);
var now = DateTimeOffset.UtcNow;
var existing = await CountAsync(dataSource);
Console.WriteLine($"PostgreSQL {await ScalarAsync(dataSource, "SHOW server_version")}, {Environment.ProcessorCount} cores, ledger holds {existing:N0} rows");

// (1) Ingestion on the current ledger, both methods, batches of 500 (the router's default); a
// ledger already seeded is measured in (4).
if (existing < seedTo && mode == "all")
{
    await IngestAsync("empty-or-current ledger", LedgerWriteMethod.Copy);
    await IngestAsync("empty-or-current ledger", LedgerWriteMethod.Unnest);
}

// (2) Seed to the target through the real writer (10,000 a batch: the service's largest) at an even
// density over the 90 days of the default retention, newest first: any prefix of at least a third
// of the target fills the last 30 days exactly as the whole would, so a seed cut short still
// measures the 30-day queries at full density.
if (existing < seedTo && args.Length > 3 && args[3] == "sql")
{
    var perDay = seedRows / 90.0;
    var watch = Stopwatch.StartNew();
    const int chunk = 100_000;
    for (var i = existing; i < seedTo; i += chunk)
    {
        await ScalarAsync(dataSource, SyntheticUsageSql.Seed(i, Math.Min(i + chunk, seedTo), perDay, now));
        Console.WriteLine($"  seeded {Math.Min(i + chunk, seedLimit):N0} rows (SQL), {(Math.Min(i + chunk, seedLimit) - existing) / watch.Elapsed.TotalSeconds:N0} rows/s");
    }

    await ScalarAsync(dataSource, "DROP TABLE public.bench_seed");
    await ScalarAsync(dataSource, "VACUUM ANALYZE accounting.ledger");
    await ScalarAsync(dataSource, "VACUUM ANALYZE accounting.usage_totals");
}
else if (existing < seedTo)
{
    var writer = Writer(LedgerWriteMethod.Copy);
    var perDay = seedRows / 90.0;
    var watch = Stopwatch.StartNew();
    const int batchSize = 10_000;
    var batch = new List<LedgerEntry>(batchSize);
    for (var i = existing; i < seedTo; i++)
    {
        batch.Add(SyntheticUsage.Entry("seed", i, now - TimeSpan.FromDays(i / perDay)));
        if (batch.Count == batchSize || i == seedTo - 1)
        {
            await writer.WriteAsync(batch, now, ct);
            batch.Clear();
            if ((i + 1) % 1_000_000 == 0)
            {
                Console.WriteLine($"  seeded {i + 1:N0} rows, {(i + 1 - existing) / watch.Elapsed.TotalSeconds:N0} rows/s");
            }
        }
    }

    var seeded = seedTo - existing;
    Console.WriteLine($"Seeded {seeded:N0} rows in {watch.Elapsed.TotalSeconds:N0} s ({seeded / watch.Elapsed.TotalSeconds:N0} rows/s)");
    // Autovacuum would get there on its own; the numbers below are for a ledger it has visited.
    await ScalarAsync(dataSource, "VACUUM ANALYZE accounting.ledger");
    await ScalarAsync(dataSource, "VACUUM ANALYZE accounting.usage_totals");
}

Console.WriteLine($"Ledger: {await CountAsync(dataSource):N0} rows, {await ScalarAsync(dataSource, "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'accounting.ledger'::regclass")}; "
    + $"totals: {await ScalarAsync(dataSource, "SELECT count(*) FROM accounting.usage_totals"):N0} rows");
if (mode == "seed")
{
    return;
}

if (mode.StartsWith("dense=", StringComparison.Ordinal))
{
    await DenseHourAsync(int.Parse(mode["dense=".Length..], CultureInfo.InvariantCulture));
    return;
}

if (mode == "queries")
{
    // The newest row is "now": a range ending here has nothing after `to` in its last hour, as a
    // dashboard's range ending at the wall clock has, however long ago the ledger was written.
    now = ((DateTime)(await ScalarAsync(dataSource, "SELECT max(started_at) FROM accounting.ledger"))!).ToUniversalTime().AddMilliseconds(1);
    Console.WriteLine($"now = {now:O}, {await ScalarAsync(dataSource, $"SELECT count(*) FROM accounting.ledger WHERE started_at >= '{now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerHour)):O}'"):N0} rows in its hour, {await ScalarAsync(dataSource, "SELECT count(*) FROM accounting.usage_pending"):N0} queued");
}

// (3) The analytics queries over the last 30 days (edges not on whole hours, as a dashboard asks).
var queries = new UsageQueries(dataSource);
AnalyticsDimensions.TryResolve("target", out var target);
AnalyticsDimensions.TryResolve("model", out var model);
AnalyticsDimensions.TryResolve("provider", out var provider);
var range = new AnalyticsRange(now.AddDays(-30), now, null);
var teamRange = range with { Team = "team-7" };
Console.WriteLine();
Console.WriteLine($"Queries from load average {ProcessCpu.LoadAverage()}");
Console.WriteLine("| query (30 days) | rows out | median ms | max ms |");
Console.WriteLine("|---|---:|---:|---:|");
foreach (var groupBy in new[] { "", "model", "target", "provider", "user", "team", "virtual_account" })
{
    await TimeAsync($"usage group_by={Name(groupBy)}", () => Usage(range, groupBy, null, 0));
    await TimeAsync($"usage group_by={Name(groupBy)} bucket=day", () => Usage(range, groupBy, "day", 0));
}

await TimeAsync("usage group_by=model bucket=hour", () => Usage(range, "model", "hour", 0));
await TimeAsync("usage group_by=user bucket=hour, first page", () => FirstPage(range, "user", "hour"));
await TimeAsync("usage group_by=user bucket=hour, every page (one run)", () => Usage(range, "user", "hour", 0), runs: 1);
await TimeAsync("usage group_by=user bucket=day, first page", () => FirstPage(range, "user", "day"));
await TimeAsync("top spenders by user (limit 10)", () => Usage(range, "user", null, 10));
await TimeAsync("team-7 only: usage group_by=user", () => Usage(teamRange, "user", null, 0));
await TimeAsync("team-7 only: usage group_by=model bucket=day", () => Usage(teamRange, "model", "day", 0));
await TimeAsync("team-7 only: usage group_by=user bucket=hour", () => Usage(teamRange, "user", "hour", 0));
await TimeAsync("usage group_by=metadata.project", () => Usage(range, "metadata.project", null, 0));
await TimeAsync("usage group_by=metadata.project bucket=day", () => Usage(range, "metadata.project", "day", 0));
await TimeAsync("usage group_by=metadata.env bucket=hour", () => Usage(range, "metadata.env", "hour", 0));
await TimeAsync("latency group_by=target", async () => (await queries.LatencyAsync(range, target, ct)).Rows.Count);
await TimeAsync("latency group_by=model", async () => (await queries.LatencyAsync(range, model, ct)).Rows.Count);
await TimeAsync("latency group_by=provider", async () => (await queries.LatencyAsync(range, provider, ct)).Rows.Count);
await TimeAsync("team-7 only: latency group_by=target", async () => (await queries.LatencyAsync(teamRange, target, ct)).Rows.Count);
await TimeAsync("latency group_by=target, last 24 h", async () => (await queries.LatencyAsync(range with { From = now.AddDays(-1) }, target, ct)).Rows.Count);
await TimeAsync("request log: user-42, first page of 50", async () => (await queries.SearchAsync(range, new RequestSearch { User = "user-42" }, 50, null, ct)).Rows.Count);
await TimeAsync("request log: one request id", async () => (await queries.SearchAsync(range, new RequestSearch { RequestId = "seed-000123456" }, 50, null, ct)).Rows.Count);
await TimeAsync("request log: model acct1/model-1, last 24 h, first page of 50", async () => (await queries.SearchAsync(range with { From = now.AddDays(-1) }, new RequestSearch { Model = "acct1/model-1" }, 50, null, ct)).Rows.Count);
await TimeAsync("team-7 only: request log, first page of 50", async () => (await queries.SearchAsync(teamRange, new RequestSearch(), 50, null, ct)).Rows.Count);
await TimeAsync("request log: status 429, first page of 50", async () => (await queries.SearchAsync(range, new RequestSearch { StatusCode = 429 }, 50, null, ct)).Rows.Count);

// (4) Ingestion again, now that the ledger is full.
Console.WriteLine($"Queries done at load average {ProcessCpu.LoadAverage()}");
Console.WriteLine();
if (mode != "all")
{
    return;
}

await IngestAsync("full ledger", LedgerWriteMethod.Copy);
await IngestAsync("full ledger", LedgerWriteMethod.Unnest);
await IngestConcurrentAsync("full ledger, 2 writers", LedgerWriteMethod.Unnest, 2);
await IngestAsync("full ledger, sustained", LedgerWriteMethod.Unnest, 200_000);
return;

// A busy current hour: `rows` calls evenly from the start of this hour to now, through the writer
// (batches of 10,000) and rolled up as the service would, except the newest 500 left queued.
async Task DenseHourAsync(int rows)
{
    var hour = now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerHour));
    var step = (now - hour).Ticks / rows;
    var writer = Writer(LedgerWriteMethod.Unnest);
    var watch = Stopwatch.StartNew();
    var entries = Enumerable.Range(0, rows).Select(i => SyntheticUsage.Entry("dense", i, hour.AddTicks(i * step))).ToArray();
    foreach (var chunk in entries[..^500].Chunk(10_000))
    {
        await writer.WriteAsync(chunk, now, ct);
        await rollup.RollUpAsync(ct);
    }

    await writer.WriteAsync(entries[^500..], now, ct);
    Console.WriteLine($"Dense hour: {rows:N0} calls from {hour:O} to {now:O} in {watch.Elapsed.TotalSeconds:N0} s, 500 left queued");
}

LedgerWriter Writer(LedgerWriteMethod method) =>
    new(dataSource, partitions, Options.Create(new LedgerOptions { WriteMethod = method }));

// Every page of the answer (pages of the API's default size), as a client reading it all would.
async Task<int> Usage(AnalyticsRange r, string groupBy, string? bucket, int top)
{
    AnalyticsDimensions.TryResolve(groupBy, out var resolved);
    var rows = 0;
    UsageCursor? after = null;
    while (true)
    {
        var page = await queries.UsageAsync(r, resolved, bucket, top, AnalyticsService.DefaultUsageRows, after, ct);
        rows += page.Rows.Count;
        if (page.NextCursor.Length == 0)
        {
            return rows;
        }

        UsageCursor.TryDecode(page.NextCursor, out var next);
        after = next;
    }
}

// The first page only: what one API call costs.
async Task<int> FirstPage(AnalyticsRange r, string groupBy, string? bucket)
{
    AnalyticsDimensions.TryResolve(groupBy, out var resolved);
    return (await queries.UsageAsync(r, resolved, bucket, 0, AnalyticsService.DefaultUsageRows, null, ct)).Rows.Count;
}

// Writes `rows` calls in batches of 500 (the router's) while the service's rollup runs beside the
// writer every 2 s, as in the service; the clock stops when the last row is in the totals too, so
// rows/s and PostgreSQL's CPU include the rollup.
async Task IngestAsync(string label, LedgerWriteMethod method, int rows = 50_000)
{
    var writer = Writer(method);
    var run = $"{method}-{Guid.NewGuid():N}"[..20];
    var entries = Enumerable.Range(0, rows).Select(i => SyntheticUsage.Entry(run, i, DateTimeOffset.UtcNow.AddMilliseconds(-i))).ToArray();
    await rollup.RollUpAsync(ct);
    var load = ProcessCpu.LoadAverage();
    var cpu = ProcessCpu.TreeSeconds(server.ProcessId);
    var ownCpu = Process.GetCurrentProcess().TotalProcessorTime;
    var watch = Stopwatch.StartNew();
    using var writing = new CancellationTokenSource();
    var rolling = Task.Run(async () =>
    {
        long moved = 0;
        while (!writing.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(new LedgerOptions().RollupInterval, writing.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            moved += await rollup.RollUpAsync(ct);
        }

        return moved;
    });
    foreach (var chunk in entries.Chunk(500))
    {
        await writer.WriteAsync(chunk, now, ct);
    }

    var written = watch.Elapsed.TotalSeconds;
    await writing.CancelAsync();
    var rolled = await rolling + await rollup.RollUpAsync(ct);
    var seconds = watch.Elapsed.TotalSeconds;
    var postgresCpu = ProcessCpu.TreeSeconds(server.ProcessId) - cpu;
    var benchCpu = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu).TotalSeconds;
    // The same rows again: a redelivery must write nothing (nor queue anything for the totals).
    var again = 0;
    foreach (var chunk in entries.Take(5_000).Chunk(500))
    {
        again += await writer.WriteAsync(chunk, now, ct);
    }

    Console.WriteLine($"Ingest ({label}, {method}, {rows:N0} rows in batches of 500, 1 writer + rollup every 2 s): {rows / seconds:N0} rows/s wall until rolled up "
        + $"({rows / written:N0} rows/s written; {rolled:N0} rolled up; load average {load}); "
        + $"PostgreSQL used {postgresCpu:N1} CPU-s ({rows / postgresCpu:N0} rows per CPU-second), the client {benchCpu:N1} CPU-s; redelivered 5,000 wrote {again}, queued {await rollup.RollUpAsync(ct)}");
}

async Task IngestConcurrentAsync(string label, LedgerWriteMethod method, int writers)
{
    const int rowsEach = 25_000;
    var writer = Writer(method);
    var watch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, writers).Select(async w =>
    {
        var run = $"{method}-{w}-{Guid.NewGuid():N}"[..22];
        foreach (var chunk in Enumerable.Range(0, rowsEach).Select(i => SyntheticUsage.Entry(run, i, now.AddMilliseconds(-i))).Chunk(500))
        {
            await writer.WriteAsync(chunk, now, ct);
        }
    }));
    var rolled = await rollup.RollUpAsync(ct);
    Console.WriteLine($"Ingest ({label}, {method}, batches of 500, then one rollup of {rolled:N0}): {writers * rowsEach / watch.Elapsed.TotalSeconds:N0} rows/s");
}

async Task TimeAsync(string label, Func<Task<int>> query, int runs = 5)
{
    if (runs > 1)
    {
        await query(); // warm: plans, caches
    }

    var times = new List<double>();
    var rows = 0;
    for (var i = 0; i < runs; i++)
    {
        var watch = Stopwatch.StartNew();
        rows = await query();
        times.Add(watch.Elapsed.TotalMilliseconds);
    }

    times.Sort();
    Console.WriteLine($"| {label} | {rows:N0} | {times[times.Count / 2]:N0} | {times[^1]:N0} |");
}

static string Name(string groupBy) => groupBy.Length == 0 ? "(none)" : groupBy;

static async Task<long> CountAsync(NpgsqlDataSource dataSource) =>
    Convert.ToInt64(await ScalarAsync(dataSource, "SELECT count(*) FROM accounting.ledger"), CultureInfo.InvariantCulture);

static async Task<object?> ScalarAsync(NpgsqlDataSource dataSource, string sql)
{
    await using var command = dataSource.CreateCommand(sql);
    command.CommandTimeout = 0;
    return await command.ExecuteScalarAsync();
}
