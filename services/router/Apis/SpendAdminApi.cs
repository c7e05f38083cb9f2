using System.Buffers;
using System.Text.Json;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Errors;
using Grpc.Core;
using AccountingAnalytics = Gateway.Aspire.Accounting.Grpc.Analytics;
using SpendQuery = Gateway.Aspire.Accounting.Grpc.SpendQuery;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// <c>POST /admin/v1/spend/rebuild</c>: rebuilds the current periods' budget spend counters (policy's,
/// in Redis) from the ledger (accounting's, in PostgreSQL), e.g. after Redis lost its data. Policy
/// checks the admin credential and says what to sum; accounting sums; policy sets the counters.
/// </summary>
public static class SpendAdminApi
{
    private static readonly TimeSpan s_accountingDeadline = TimeSpan.FromSeconds(60);

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapSpendAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/spend/rebuild", RebuildAsync);
        return app;
    }

    /// <summary>
    /// Answers <c>{"from","to","ledger_groups","counters":[{"rule","period_start","spent_usd"}],"removed"}</c>:
    /// the ledger range read, the counters set and how many stale ones were deleted.
    /// </summary>
    internal static async Task<IResult> RebuildAsync(HttpContext context, Spend.SpendClient spend, AccountingAnalytics.AnalyticsClient analytics)
    {
        var (scope, error) = await AdminApi.CallAsync(context, o => spend.RebuildScopeAsync(new RebuildScopeRequest(), o));
        if (error is not null)
        {
            return error;
        }

        var request = new RebuildSpendRequest { Now = scope!.Now };
        if (scope.Any)
        {
            try
            {
                var totals = await analytics.SpendTotalsAsync(
                    new SpendQuery { From = scope.From, To = scope.Now, MetadataKeys = { scope.MetadataKeys } },
                    deadline: DateTime.UtcNow + s_accountingDeadline, cancellationToken: context.RequestAborted);
                request.Groups.AddRange(totals.Rows.Select(r => new SpendGroup
                {
                    TokenId = r.TokenId,
                    User = r.User,
                    Team = r.Team,
                    VirtualAccount = r.VirtualAccount,
                    RequestedModel = r.RequestedModel,
                    Metadata = { r.Metadata },
                    Day = r.Day,
                    CostNanoUsd = r.CostNanoUsd,
                }));
            }
            catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
            {
                return OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "accounting_unavailable", "The ledger is unavailable right now, so spend cannot be rebuilt; retry shortly.");
            }
        }

        var (rebuilt, rebuildError) = await AdminApi.CallAsync(context, o => spend.RebuildAsync(request, o));
        return rebuildError ?? Json(scope, request.Groups.Count, rebuilt!);
    }

    private static IResult Json(RebuildScopeReply scope, int groups, RebuildSpendReply rebuilt)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (scope.From is null)
            {
                w.WriteNull("from");
            }
            else
            {
                w.WriteString("from", scope.From.ToDateTimeOffset());
            }

            w.WriteString("to", scope.Now.ToDateTimeOffset());
            w.WriteNumber("ledger_groups", groups);
            w.WriteStartArray("counters");
            foreach (var counter in rebuilt.Counters)
            {
                w.WriteStartObject();
                w.WriteString("rule", counter.Rule);
                w.WriteString("period_start", counter.PeriodStart.ToDateTimeOffset());
                w.WriteNumber("spent_usd", ServiceDefaults.Billing.NanoUsd.ToUsd(counter.SpentNanoUsd));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("removed", rebuilt.Removed);
            w.WriteEndObject();
        }

        return TypedResults.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }
}
