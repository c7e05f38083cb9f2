using System.Text;
using Gateway.Aspire.Router.Configuration;
using Gateway.Aspire.Router.Errors;
using Gateway.Aspire.Router.Forwarding;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Grpc.Core;
using Microsoft.Net.Http.Headers;
using GuardrailsGrpc = Gateway.Aspire.Guardrails.Grpc;
using PolicyGrpc = Gateway.Aspire.Policy.Grpc;

namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// Configuration manifests through the admin API: <c>POST /admin/v1/apply</c> (YAML, one or many
/// documents, <c>?dry_run=true</c>), <c>DELETE /admin/v1/config/{type}/{name}</c>,
/// <c>GET /admin/v1/config</c> (the effective YAML) and <c>GET /admin/v1/config/history</c>.
/// </summary>
/// <remarks>
/// Policy stores, versions and publishes (and checks the admin credential); validation is split by
/// ownership over one candidate: the router checks its own types here (it alone has the provider
/// keys' environment), guardrails checks its documents (<c>ValidateConfig</c>), policy checks rate
/// limits, budgets and accounting's alert rules (shared loader) and that their models exist. What
/// policy answers for display (effective YAML, history, diffs) has secret values masked. The candidate is built from the layers policy
/// reports at a version; policy refuses the change (ABORTED) if another one landed meanwhile, and
/// the router validates again, so concurrent applies never lose each other's documents.
/// </remarks>
public static class ConfigApi
{
    /// <summary>Largest manifest body accepted (1 MiB): far more than any real configuration.</summary>
    public const int MaxManifestBytes = 1 << 20;

    /// <summary>How often a change is validated again when another one lands meanwhile.</summary>
    public const int MaxAttempts = 5;

    private static readonly string[] s_yamlMediaTypes = ["application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"];

    /// <summary>Maps the configuration endpoints under <paramref name="admin"/> (<c>/admin/v1</c>).</summary>
    public static IEndpointRouteBuilder MapConfigApi(this IEndpointRouteBuilder admin)
    {
        admin.MapPost("/apply", Apply);
        admin.MapDelete("/config/{type}/{name}", Remove);
        admin.MapGet("/config", Effective);
        admin.MapGet("/config/history", History);
        return admin;
    }

    private static async Task<IResult> Apply(
        HttpContext context, PolicyGrpc.Config.ConfigClient config, GuardrailsGrpc.Guardrails.GuardrailsClient guardrails, IConfiguration environment)
    {
        if (DryRun(context) is not { } dryRun)
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_value", "'dry_run' must be true or false.", "dry_run");
        }

        // Policy checks the credential first, so a caller who may not apply learns nothing about the body.
        var (current, error) = await AdminApi.CallAsync(context, o => config.CurrentAsync(new PolicyGrpc.CurrentConfigRequest(), o));
        if (error is not null)
        {
            return error;
        }

        var (yaml, bodyError) = await ReadYamlAsync(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        try
        {
            ManifestOverlay.ParseApply(yaml!);
        }
        catch (ManifestException e)
        {
            return Invalid(e.Message);
        }

        return await ChangeAsync(context, config, guardrails, environment, current!, dryRun,
            layers => [.. layers, new LayerOf(new ManifestLayer(ManifestOverlay.RequestBody, yaml!), "", "")],
            (version, known, options) =>
            {
                var request = new PolicyGrpc.ApplyConfigRequest { Yaml = yaml, DryRun = dryRun, BaseVersion = version };
                request.KnownModels.AddRange(known);
                return config.ApplyAsync(request, options);
            });
    }

    private static async Task<IResult> Remove(
        HttpContext context, string type, string name,
        PolicyGrpc.Config.ConfigClient config, GuardrailsGrpc.Guardrails.GuardrailsClient guardrails, IConfiguration environment)
    {
        if (DryRun(context) is not { } dryRun)
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_value", "'dry_run' must be true or false.", "dry_run");
        }

        var (current, error) = await AdminApi.CallAsync(context, o => config.CurrentAsync(new PolicyGrpc.CurrentConfigRequest(), o));
        if (error is not null)
        {
            return error;
        }

        return await ChangeAsync(context, config, guardrails, environment, current!, dryRun,
            // Policy answers 404 when no applied document has this key; the candidate is then simply the current one.
            layers => [.. layers.Where(l => l.Type != type || l.Name != name)],
            (version, known, options) =>
            {
                var request = new PolicyGrpc.RemoveConfigRequest { Type = type, Name = name, DryRun = dryRun, BaseVersion = version };
                request.KnownModels.AddRange(known);
                return config.RemoveAsync(request, options);
            });
    }

    private static async Task<IResult> Effective(HttpContext context, PolicyGrpc.Config.ConfigClient config)
    {
        var (current, error) = await AdminApi.CallAsync(context, o => config.CurrentAsync(new PolicyGrpc.CurrentConfigRequest(), o));
        if (error is not null)
        {
            return error;
        }

        context.Response.Headers["x-gateway-config-version"] = current!.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Text(current.EffectiveYaml, "application/yaml", Encoding.UTF8);
    }

    private static async Task<IResult> History(HttpContext context, PolicyGrpc.Config.ConfigClient config)
    {
        var query = context.Request.Query;
        if (query.Keys.FirstOrDefault(k => k is not ("limit" or "before")) is { } unknown)
        {
            return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_value", $"Unknown parameter '{unknown}'. Known: limit, before.", unknown);
        }

        var request = new PolicyGrpc.ConfigHistoryRequest();
        foreach (var (key, value) in query)
        {
            if (!long.TryParse(value.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                || number < 1 || (key == "limit" && number > 100))
            {
                return OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_value",
                    key == "limit" ? "'limit' must be an integer from 1 to 100." : "'before' must be a positive version number.", key);
            }

            if (key == "limit")
            {
                request.Limit = (int)number;
            }
            else
            {
                request.BeforeVersion = number;
            }
        }

        return await AdminApi.RelayAsync(context, o => config.HistoryAsync(request, o), reply => TypedResults.Json(
            new ConfigHistoryResponse(
                [.. reply.Versions.Select(v => new ConfigVersionResponse(v.Version, v.AppliedAt.ToDateTimeOffset(), v.AppliedBy, v.Action, v.Documents, v.Diff))],
                reply.NextBeforeVersion == 0 ? null : reply.NextBeforeVersion),
            RouterJsonContext.Web.ConfigHistoryResponse));
    }

    /// <summary>
    /// Validates the candidate that <paramref name="candidateLayers"/> makes of the current layers
    /// (router types here, guardrails documents in guardrails) and asks policy to
    /// <paramref name="commit"/> it at the version it was built from; starts over when another change
    /// landed meanwhile.
    /// </summary>
    private static async Task<IResult> ChangeAsync(
        HttpContext context,
        PolicyGrpc.Config.ConfigClient config,
        GuardrailsGrpc.Guardrails.GuardrailsClient guardrails,
        IConfiguration environment,
        PolicyGrpc.CurrentConfigReply current,
        bool dryRun,
        Func<IReadOnlyList<LayerOf>, IReadOnlyList<LayerOf>> candidateLayers,
        Func<long, IReadOnlyList<string>, CallOptions, AsyncUnaryCall<PolicyGrpc.ApplyConfigReply>> commit)
    {
        for (var attempt = 1; ; attempt++)
        {
            var layers = candidateLayers([.. current.Layers.Select(l => new LayerOf(new ManifestLayer(l.Origin, l.Yaml), l.Type, l.Name))]);
            IReadOnlyList<string> knownModels;
            bool hasGuardrails;
            try
            {
                var candidate = ManifestOverlay.Build(layers.Select(l => l.Layer));
                knownModels = CandidateConfig.Validate(candidate, name => environment[name]);
                hasGuardrails = candidate.Any(d => d.Type == "gateway-guardrails-config");
            }
            catch (ManifestException e)
            {
                return Invalid(e.Message);
            }

            if (hasGuardrails && await ValidateGuardrailsAsync(context, guardrails, layers) is { } refusal)
            {
                return refusal;
            }

            try
            {
                var reply = await commit(current.Version, knownModels, AdminApi.CallOptionsFor(context));
                return TypedResults.Json(new ConfigChangeResponse(
                    reply.Version, dryRun, reply.Changed,
                    [.. reply.Documents.Select(d => new ConfigDocumentResponse(d.Type, d.Name, d.Change))],
                    reply.Diff), RouterJsonContext.Web.ConfigChangeResponse);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Aborted && attempt < MaxAttempts)
            {
                // Another change landed after we read the layers: validate against the new ones.
                var (next, error) = await AdminApi.CallAsync(context, o => config.CurrentAsync(new PolicyGrpc.CurrentConfigRequest(), o));
                if (error is not null)
                {
                    return error;
                }

                current = next!;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                return Invalid(e.Status.Detail);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Aborted)
            {
                return OpenAiError.Result(409, OpenAiError.InvalidRequest, "conflict", e.Status.Detail);
            }
            catch (RpcException e) when (!context.RequestAborted.IsCancellationRequested)
            {
                return AdminApi.FromRpc(e);
            }
        }
    }

    private static async Task<IResult?> ValidateGuardrailsAsync(HttpContext context, GuardrailsGrpc.Guardrails.GuardrailsClient guardrails, IReadOnlyList<LayerOf> layers)
    {
        var request = new GuardrailsGrpc.ValidateConfigRequest();
        request.Layers.AddRange(layers.Select(l => new GuardrailsGrpc.ConfigLayer { Origin = l.Layer.Origin, Yaml = l.Layer.Yaml }));
        try
        {
            await guardrails.ValidateConfigAsync(request, deadline: DateTime.UtcNow + AdminApi.PolicyDeadline, cancellationToken: context.RequestAborted);
            return null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            return Invalid(e.Status.Detail);
        }
        catch (RpcException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return OpenAiError.Result(503, OpenAiError.ServiceUnavailable, "guardrails_unavailable",
                "The guardrails service cannot validate the gateway-guardrails-config documents right now; nothing was changed. Retry shortly.");
        }
    }

    /// <summary>The <c>dry_run</c> parameter: false when absent, null when not a boolean.</summary>
    private static bool? DryRun(HttpContext context) => context.Request.Query["dry_run"].ToString() switch
    {
        "" or "false" or "0" => false,
        "true" or "1" => true,
        _ => null,
    };

    /// <summary>The body as text: YAML media type, at most <see cref="MaxManifestBytes"/>, valid UTF-8.</summary>
    private static async Task<(string? Yaml, IResult? Error)> ReadYamlAsync(HttpContext context)
    {
        var request = context.Request;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !s_yamlMediaTypes.Contains(mediaType.MediaType.Value, StringComparer.OrdinalIgnoreCase))
        {
            return (null, OpenAiError.Result(400, OpenAiError.InvalidRequest, "unsupported_content_type",
                $"Send the manifests as YAML with 'Content-Type: application/yaml' (also text/yaml, application/x-yaml); got '{request.ContentType}'."));
        }

        using var body = await RequestBodyReader.ReadAsync(request, MaxManifestBytes, context.RequestAborted);
        if (body is null)
        {
            return (null, OpenAiError.Result(413, OpenAiError.InvalidRequest, "request_too_large", $"The manifests exceed the limit of {MaxManifestBytes} bytes."));
        }

        try
        {
            return (new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body.Span), null);
        }
        catch (DecoderFallbackException)
        {
            return (null, Invalid("The body is not valid UTF-8 text."));
        }
    }

    private static IResult Invalid(string message) => OpenAiError.Result(400, OpenAiError.InvalidRequest, "invalid_manifest", message);

    /// <summary>A layer as policy reported it; <c>Type</c> and <c>Name</c> are set for an applied document.</summary>
    private sealed record LayerOf(ManifestLayer Layer, string Type, string Name);
}
