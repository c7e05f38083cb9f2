namespace Gateway.Aspire.MockUpstream;

/// <summary>Settings of the whole mock, read once at start.</summary>
/// <param name="ApiKey">Env <c>MOCK_API_KEY</c>: the key every format must present; none means no check.</param>
/// <param name="DefaultLatencyMs">Env <c>MOCK_LATENCY_MS</c>: the delay before response headers when the request sets none.</param>
internal sealed record MockSettings(string? ApiKey, int DefaultLatencyMs);

/// <summary>
/// What every endpoint does before answering, in the order a real provider's edge does it: refuse
/// (bad key, missing version, in the format's own error shape), wait (<c>x-mock-latency-ms</c>), then
/// fail on request (<c>x-mock-status</c>, in the format's own error shape).
/// </summary>
internal static class MockGate
{
    /// <summary>Adds the gate to every endpoint of <paramref name="group"/>.</summary>
    /// <param name="group">The endpoints of one wire format.</param>
    /// <param name="settings">The mock's settings.</param>
    /// <param name="refuse">The format's own refusal of the request (auth, required headers), or null to let it through.</param>
    /// <param name="fail">The format's error for an <c>x-mock-status</c> of 400 or more.</param>
    public static RouteGroupBuilder AddMockGate(
        this RouteGroupBuilder group,
        MockSettings settings,
        Func<HttpContext, IResult?> refuse,
        Func<HttpContext, int, IResult> fail)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (refuse(http) is { } refusal)
            {
                return refusal;
            }

            var latency = MockControls.HeaderInt(http.Request, "x-mock-latency-ms") ?? settings.DefaultLatencyMs;
            if (latency > 0)
            {
                await Task.Delay(latency, http.RequestAborted);
            }

            if (http.Request.Headers["x-mock-reset"] == "true")
            {
                // A connection reset before any answer, as a crashing or overloaded server does.
                http.Abort();
                return Results.Empty;
            }

            if (MockControls.HeaderInt(http.Request, "x-mock-status") is { } status and >= 400 and <= 599 && ShouldFail(http.Request))
            {
                var result = fail(http, status);
                if (MockControls.HeaderInt(http.Request, "x-mock-retry-after") is { } retryAfter and >= 0)
                {
                    http.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                return result;
            }

            return await next(context);
        });
        return group;
    }

    /// <summary>
    /// Whether an <c>x-mock-status</c> applies: always, unless <c>x-mock-fail-times: N</c> limits it to
    /// the first N requests carrying the same <c>x-mock-fail-key</c> (then the answer succeeds), for retry tests.
    /// </summary>
    private static bool ShouldFail(HttpRequest request)
    {
        if (MockControls.HeaderInt(request, "x-mock-fail-times") is not { } times)
        {
            return true;
        }

        var key = request.Headers["x-mock-fail-key"].ToString();
        return s_failures.AddOrUpdate(key, 1, (_, n) => n + 1) <= times;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> s_failures = new(StringComparer.Ordinal);

    /// <summary>True when no key is configured or <paramref name="presented"/> is it.</summary>
    public static bool KeyMatches(MockSettings settings, string? presented) =>
        string.IsNullOrEmpty(settings.ApiKey) || presented == settings.ApiKey;
}
