using Gateway.Aspire.Policy.Grpc;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>A <see cref="CreateTokenRequest"/> after validation.</summary>
/// <param name="Name">Trimmed name, 1–100 characters.</param>
/// <param name="Models">Distinct <c>&lt;account&gt;/&lt;model&gt;</c> names, in request order.</param>
/// <param name="ExpiresAt">Future expiry, or null.</param>
public sealed record ValidTokenRequest(string Name, IReadOnlyList<string> Models, DateTimeOffset? ExpiresAt)
{
    /// <summary><see cref="TokenKinds.VirtualAccount"/> (default) or <see cref="TokenKinds.Personal"/>.</summary>
    public string Kind { get; init; } = TokenKinds.VirtualAccount;

    /// <summary>A personal token's user (id or name); empty otherwise.</summary>
    public string User { get; init; } = "";

    /// <summary>A virtual-account token's team (id or name), or empty.</summary>
    public string Team { get; init; } = "";
}

/// <summary>Validates token creation requests and the names and model lists of identities; the error text is safe to show the admin.</summary>
public static class CreateTokenValidator
{
    /// <summary>Longest token name.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Longest model name, and most models per token (keeps the cached record small).</summary>
    public const int MaxModelLength = 200, MaxModels = 100;

    /// <summary>Returns the validated request, or null and the reason in <paramref name="error"/>.</summary>
    public static ValidTokenRequest? Validate(CreateTokenRequest request, DateTimeOffset now, out string? error) =>
        Validate(request, now, out error, out _);

    /// <summary>Returns the validated request, or null, the reason and the offending field.</summary>
    public static ValidTokenRequest? Validate(CreateTokenRequest request, DateTimeOffset now, out string? error, out string? param)
    {
        param = "name";
        if (ValidateName(request.Name, "name", out error) is not { } name)
        {
            return null;
        }

        param = "kind";
        var kind = request.Kind.Length == 0 ? TokenKinds.VirtualAccount : request.Kind;
        if (kind is not (TokenKinds.VirtualAccount or TokenKinds.Personal))
        {
            error = $"'kind' must be '{TokenKinds.VirtualAccount}' or '{TokenKinds.Personal}', not '{Truncate(request.Kind)}'.";
            return null;
        }

        if (kind == TokenKinds.Personal)
        {
            (param, error) = request switch
            {
                { User.Length: 0 } => ("user", "'user' is required for a personal token."),
                { Team.Length: > 0 } => ("team", "'team' does not apply to a personal token: it belongs to its user's teams."),
                { Models.Count: > 0 } => ("models", "'models' does not apply to a personal token: it inherits its user's model access."),
                _ => (null, null),
            };
        }
        else if (request.User.Length > 0)
        {
            (param, error) = ("user", "'user' applies to personal tokens only: set \"kind\": \"personal\".");
        }

        if (error is not null)
        {
            return null;
        }

        param = "models";
        if (ValidateModels(request.Models, "models", out error) is not { } models)
        {
            return null;
        }

        param = "expires_at";
        DateTimeOffset? expiresAt = null;
        if (request.ExpiresAt is { } timestamp)
        {
            try
            {
                expiresAt = timestamp.ToDateTimeOffset();
            }
            catch (InvalidOperationException)
            {
                error = "'expires_at' is not a valid timestamp.";
                return null;
            }

            if (expiresAt <= now)
            {
                error = "'expires_at' must be in the future.";
                return null;
            }
        }

        param = null;
        return new ValidTokenRequest(name, models, expiresAt) { Kind = kind, User = request.User.Trim(), Team = request.Team.Trim() };
    }

    /// <summary>A trimmed name of 1–100 characters without control characters, or null and why.</summary>
    public static string? ValidateName(string value, string field, out string? error)
    {
        var name = value.Trim();
        error = name.Length == 0 ? $"'{field}' is required."
            : name.Length > MaxNameLength ? $"'{field}' must be at most {MaxNameLength} characters."
            : name.Any(char.IsControl) ? $"'{field}' must not contain control characters."
            : null;
        return error is null ? name : null;
    }

    /// <summary>Distinct model names in request order, or null and why.</summary>
    public static IReadOnlyList<string>? ValidateModels(IReadOnlyList<string> values, string field, out string? error)
    {
        if (values.Count > MaxModels)
        {
            error = $"'{field}' may list at most {MaxModels} models.";
            return null;
        }

        var models = new List<string>(values.Count);
        foreach (var model in values)
        {
            if (!IsModelName(model))
            {
                error = $"'{field}' entry '{Truncate(model)}' is not a model name of the form '<account>/<model>'.";
                return null;
            }

            if (!models.Contains(model, StringComparer.Ordinal))
            {
                models.Add(model);
            }
        }

        error = null;
        return models;
    }

    /// <summary>
    /// <c>&lt;account&gt;/&lt;model&gt;</c>: a non-empty account without '/', then a non-empty model
    /// (which may itself contain '/', e.g. Hugging Face names), no whitespace or control characters.
    /// </summary>
    public static bool IsModelName(string value)
    {
        if (value.Length is 0 or > MaxModelLength)
        {
            return false;
        }

        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == value.Length - 1)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string Truncate(string value) => value.Length <= 60 ? value : value[..60] + "…";
}
