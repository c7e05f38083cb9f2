namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// Azure OpenAI's deployment URLs: <c>/openai/deployments/{deployment}/chat/completions</c>,
/// <c>/completions</c> and <c>/embeddings</c>, each with <c>?api-version=</c> and an <c>api-key</c>
/// header. The answers are OpenAI's (<see cref="OpenAiEndpoints"/>) with the deployment as the model
/// and Azure's content filter results; the gate's errors are Azure's own <c>{"error":{"code","message"}}</c>.
/// </summary>
internal static class AzureEndpoints
{
    /// <summary>Maps the deployment endpoints, behind the api-version and api-key checks.</summary>
    public static void MapAzureEndpoints(this IEndpointRouteBuilder app, MockSettings settings)
    {
        var deployment = app.MapGroup("/openai/deployments/{deployment}").AddMockGate(settings, http => Refuse(http, settings), StatusError);
        deployment.MapPost("/chat/completions", context => OpenAiEndpoints.HandleAsync(context, OpenAiOperation.Chat, Deployment(context)));
        deployment.MapPost("/completions", context => OpenAiEndpoints.HandleAsync(context, OpenAiOperation.Completions, Deployment(context)));
        deployment.MapPost("/embeddings", context => OpenAiEndpoints.HandleAsync(context, OpenAiOperation.Embeddings, Deployment(context)));
    }

    private static string Deployment(HttpContext context) => context.Request.RouteValues["deployment"] as string ?? "";

    // Azure answers a deployment URL without api-version as an unknown resource, before any key check.
    private static IResult? Refuse(HttpContext context, MockSettings settings)
    {
        var request = context.Request;
        if (string.IsNullOrEmpty(request.Query["api-version"]))
        {
            return Error(404, "404", "Resource not found");
        }

        var key = request.Headers["api-key"].ToString();
        return MockGate.KeyMatches(settings, key) ? null
            : key.Length == 0 ? Error(401, "401", "Access denied due to missing subscription key. Include the key in the api-key header.")
            : Error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint.");
    }

    private static IResult StatusError(HttpContext context, int status)
    {
        if (status == 429)
        {
            context.Response.Headers.RetryAfter = "1";
            context.Response.Headers["retry-after-ms"] = "1000";
        }

        return Error(status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Mock error with status {status}.");
    }

    private static MockJsonResult Error(int status, string code, string message) => new(status, json =>
    {
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("code", code);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteEndObject();
    });
}
