using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Providers;

namespace Gateway.Aspire.Router.Budgets;

/// <summary>
/// The answer to a call a hard budget cannot afford: 429 with OpenAI's quota error
/// (<c>type: insufficient_quota</c>, <c>code: budget_exceeded</c>), the message naming the budget
/// and when its period resets; <c>x-gateway-budget</c> names the budget too.
/// </summary>
/// <remarks>
/// 429 rather than 402: OpenAI answers an exhausted quota with 429 <c>insufficient_quota</c>, so every
/// OpenAI SDK raises its rate-limit error, which applications already handle, and TrueFoundry's
/// budgets do the same; 402 has no typed error in the SDKs. Unlike a rate limit there is no
/// <c>Retry-After</c> (the SDKs would sleep until the period resets, possibly days); instead
/// <c>x-should-retry: false</c> tells the OpenAI SDKs that honour it not to retry at all.
/// </remarks>
internal static class BudgetErrors
{
    /// <summary>OpenAI's error type for an exhausted quota.</summary>
    public const string Type = "insufficient_quota";

    /// <summary>The error code.</summary>
    public const string Code = "budget_exceeded";

    /// <summary>Writes the 429 for <paramref name="admit"/> (decision BUDGET_EXCEEDED) in the client's format.</summary>
    public static Task WriteAsync(WireFormat format, HttpResponse response, AdmitReply admit)
    {
        response.Headers["x-should-retry"] = "false";
        response.Headers["x-gateway-budget"] = admit.BudgetRule;
        var message = admit.Message.Length > 0 ? admit.Message : $"Budget '{admit.BudgetRule}' exceeded.";
        return ClientErrors.WriteAsync(format, response, 429, Type, Code, message);
    }
}
