using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Policy.RateLimiting;
using Gateway.Aspire.Policy.Tokens;
using Gateway.Aspire.ServiceDefaults.Alerts;
using Gateway.Aspire.ServiceDefaults.Configuration;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Gateway.Aspire.Policy.Configuration;

/// <summary>
/// Configuration manifests over gRPC (behind the router's <c>/admin/v1/apply</c> and
/// <c>/admin/v1/config*</c>): the effective configuration is the file's documents overlaid by the
/// applied ones (<see cref="ManifestOverlay"/>); an apply upserts its documents by type and name, a
/// removal deletes one. Every change is validated as a whole effective configuration, stored as the
/// next version (<see cref="ConfigStore"/>) and published to every replica (<see cref="ConfigPublisher"/>).
/// </summary>
/// <remarks>
/// Policy validates the types it owns (rate limits, budgets), accounting's alert rules (with the
/// loader accounting reads them with, shared in ServiceDefaults) and the models of all three against
/// the catalog the router sends (<c>known_models</c>); the router validates its own types (provider accounts,
/// load balancing) and has guardrails validate theirs, against the same candidate: the one built
/// from <c>Current</c> at <c>base_version</c>, which the store checks under its lock.
/// </remarks>
internal sealed class ConfigService(
    AdminAuthenticator authenticator, ConfigStore store, ConfigFile file, ConfigPublication publication,
    ILogger<ConfigService> logger)
    : Grpc.Config.ConfigBase
{
    /// <summary>Versions a history page holds when the call does not say.</summary>
    public const int DefaultHistoryLimit = 20;

    /// <summary>Most versions one history page holds.</summary>
    public const int MaxHistoryLimit = 100;

    /// <inheritdoc />
    public override async Task<CurrentConfigReply> Current(CurrentConfigRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        var state = await AdminErrors.StoreAsync(() => store.ReadAsync(context.CancellationToken), logger);
        var layers = ConfigLayers.Of(file, state).ToList();
        var reply = new CurrentConfigReply
        {
            Version = state.Version,
            // Shown to the operator only (the layers below are what validation reads): secret values masked.
            EffectiveYaml = ManifestRedaction.Redact(ManifestOverlay.ToYaml(Manifest(() => ManifestOverlay.Build(layers)))),
        };
        if (file.Layer is { } fileLayer)
        {
            reply.Layers.Add(new ConfigLayer { Origin = fileLayer.Origin, Yaml = fileLayer.Yaml });
        }

        reply.Layers.AddRange(state.Documents.Select(d => new ConfigLayer { Origin = ConfigLayers.AppliedOrigin(d.Version), Yaml = d.Yaml, Type = d.Type, Name = d.Name }));
        return reply;
    }

    /// <inheritdoc />
    public override async Task<ApplyConfigReply> Apply(ApplyConfigRequest request, ServerCallContext context)
    {
        var actor = await authenticator.AuthenticateAsync(context);
        var body = Manifest(() => ManifestOverlay.ParseApply(request.Yaml));
        var touched = body.Select(d => ManifestOverlay.KeyOf(d.Type, d.Name!)).ToHashSet(StringComparer.Ordinal);
        return await ChangeAsync(request.BaseVersion, request.DryRun, request.KnownModels, actor, "apply", request.Yaml, context, state =>
        {
            var current = ManifestOverlay.Build(ConfigLayers.Of(file, state));
            var candidate = ManifestOverlay.Overlay(current, body);
            var diff = ConfigDiff.Between(current, candidate, touched);
            var upserts = body
                .Where(d => diff.Documents.Any(c => c.Type == d.Type && c.Name == d.Name && c.Change != "unchanged"))
                .Select(d => new StoredDocument(d.Type, d.Name!, d.Text, 0))
                .ToList();
            return (candidate, new ConfigChange(upserts, null, diff));
        });
    }

    /// <inheritdoc />
    public override async Task<ApplyConfigReply> Remove(RemoveConfigRequest request, ServerCallContext context)
    {
        var actor = await authenticator.AuthenticateAsync(context);
        var key = ManifestOverlay.KeyOf(request.Type, request.Name);
        return await ChangeAsync(request.BaseVersion, request.DryRun, request.KnownModels, actor, "remove", key, context, state =>
        {
            if (!state.Documents.Any(d => d.Type == request.Type && d.Name == request.Name))
            {
                throw AdminErrors.NotFound(
                    $"No applied document {request.Type} '{request.Name}'. Documents of the configuration file change only in the file.", "name");
            }

            var current = ManifestOverlay.Build(ConfigLayers.Of(file, state));
            var rest = state with { Documents = [.. state.Documents.Where(d => d.Type != request.Type || d.Name != request.Name)] };
            var candidate = ManifestOverlay.Build(ConfigLayers.Of(file, rest));
            var diff = ConfigDiff.Between(current, candidate, new HashSet<string>(StringComparer.Ordinal) { key });
            return (candidate, new ConfigChange([], (request.Type, request.Name), diff));
        });
    }

    /// <inheritdoc />
    public override async Task<ConfigHistoryReply> History(ConfigHistoryRequest request, ServerCallContext context)
    {
        await authenticator.AuthenticateAsync(context);
        if (request.Limit < 0 || request.Limit > MaxHistoryLimit || request.BeforeVersion < 0)
        {
            throw AdminErrors.Invalid(request.Limit is < 0 or > MaxHistoryLimit ? "limit" : "before",
                $"'limit' must be between 1 and {MaxHistoryLimit} and 'before' a positive version.");
        }

        var limit = request.Limit == 0 ? DefaultHistoryLimit : request.Limit;
        var rows = await AdminErrors.StoreAsync(() => store.HistoryAsync(limit + 1, request.BeforeVersion, context.CancellationToken), logger);
        var reply = new ConfigHistoryReply { NextBeforeVersion = rows.Count > limit ? rows[limit - 1].Version : 0 };
        reply.Versions.AddRange(rows.Take(limit).Select(r => new ConfigVersion
        {
            Version = r.Version,
            AppliedAt = Timestamp.FromDateTimeOffset(r.AppliedAt),
            AppliedBy = r.AppliedBy,
            Action = r.Action,
            // An apply keeps its request body as sent; masked on the way out, so rows written before masking existed are covered too.
            Documents = r.Action == "apply" ? ManifestRedaction.Redact(r.Documents) : r.Documents,
            Diff = r.Diff,
        }));
        return reply;
    }

    /// <summary>
    /// Plans a change under the store's lock, validates the candidate it leads to, stores it (unless
    /// a dry run or a no-op) and publishes the new effective configuration.
    /// </summary>
    private async Task<ApplyConfigReply> ChangeAsync(
        long baseVersion, bool dryRun, IReadOnlyCollection<string> knownModels, string actor, string action, string documents, ServerCallContext context,
        Func<ConfigState, (IReadOnlyList<ManifestDocument> Candidate, ConfigChange Change)> plan)
    {
        IReadOnlyList<ManifestDocument> candidate = [];
        var (version, change) = await AdminErrors.StoreAsync(async () =>
        {
            try
            {
                return await store.ChangeAsync(baseVersion, state =>
                {
                    var (next, change) = Manifest(() => plan(state));
                    Manifest(() => Validate(next, knownModels));
                    candidate = next;
                    return change;
                }, dryRun, actor, action, documents, context.CancellationToken);
            }
            catch (ConfigConflictException e)
            {
                throw new RpcException(new Status(StatusCode.Aborted, e.Message));
            }
        }, logger);

        var stored = !dryRun && version != baseVersion;
        if (stored)
        {
            PolicyLog.ConfigChanged(logger, version, actor, action, string.Join(", ", change.Diff.Documents.Select(d => $"{d.Type}/{d.Name} {d.Change}")));
            if (!await publication.TryPublishAsync(version, candidate))
            {
                // Stored but not yet announced: the publication service retries until Redis takes it.
                publication.RequestRetry();
            }
        }

        var reply = new ApplyConfigReply { Version = version, Changed = change.Diff.Changed || change.Removed is not null, Diff = change.Diff.Text };
        reply.Documents.AddRange(change.Diff.Documents.Select(d => new ConfigDocumentChange { Type = d.Type, Name = d.Name, Change = d.Change }));
        return reply;
    }

    /// <summary>
    /// Checks the policy-owned documents of <paramref name="candidate"/> and the alert rules with the
    /// loaders that read them at start (same rules, same wording), then that every model their rules
    /// name exists.
    /// </summary>
    private static void Validate(IReadOnlyList<ManifestDocument> candidate, IReadOnlyCollection<string> knownModels)
    {
        var limits = RateLimitConfigLoader.Parse(candidate);
        var budgets = BudgetConfigLoader.Parse(candidate);
        // Accounting evaluates these and refuses an invalid version on every replica; refusing it here is what tells the operator.
        var alerts = ModelAlertConfigLoader.Parse(candidate);
        if (knownModels.Count == 0)
        {
            return; // a caller that does not know the catalog (not the router): only the documents' own rules apply
        }

        var known = knownModels.ToHashSet(StringComparer.Ordinal);
        var rules = limits.Rules.Select(r => (r.When.Models, Field: $"{r.Source}, when.models"))
            .Concat(budgets.Rules.Select(r => (r.When.Models, Field: $"{r.Source}, when.models")))
            .Concat(alerts.Select(r => (r.Models, Field: $"{r.Source}, models")));
        foreach (var (models, field) in rules)
        {
            if (models.FirstOrDefault(m => !known.Contains(m)) is { } unknown)
            {
                throw new ManifestException($"{field}: '{unknown}' is neither a model of a provider-account ('<account>/<model>') nor a virtual model.");
            }
        }
    }

    /// <summary>Runs <paramref name="read"/>, turning an invalid manifest into InvalidArgument with its message.</summary>
    private static T Manifest<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ManifestException e)
        {
            throw AdminErrors.Invalid(null, e.Message);
        }
    }

    private static void Manifest(Action check) => Manifest(() =>
    {
        check();
        return true;
    });
}
