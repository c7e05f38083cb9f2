using Gateway.Aspire.Policy.Grpc;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>A <see cref="CreateTokenRequest"/> after validation.</summary>
/// <param name="Name">Trimmed name, 1–100 characters.</param>
/// <param name="Models">Distinct <c>&lt;account&gt;/&lt;model&gt;</c> names, in request order.</param>
/// <param name="ExpiresAt">Future expiry, or null.</param>
public sealed record ValidTokenRequest(string Name, IReadOnlyList<string> Models, DateTimeOffset? ExpiresAt);

/// <summary>Validates token creation requests; the error text is safe to show the admin.</summary>
public static class CreateTokenValidator
{
    /// <summary>Longest token name.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Longest model name, and most models per token (keeps the cached record small).</summary>
    public const int MaxModelLength = 200, MaxModels = 100;

    /// <summary>Returns the validated request, or null and the reason in <paramref name="error"/>.</summary>
    public static ValidTokenRequest? Validate(CreateTokenRequest request, DateTimeOffset now, out string? error)
    {
        var name = request.Name.Trim();
        if (name.Length == 0)
        {
            error = "'name' is required.";
            return null;
        }

        if (name.Length > MaxNameLength)
        {
            error = $"'name' must be at most {MaxNameLength} characters.";
            return null;
        }

        if (name.Any(char.IsControl))
        {
            error = "'name' must not contain control characters.";
            return null;
        }

        if (request.Models.Count > MaxModels)
        {
            error = $"'models' may list at most {MaxModels} models.";
            return null;
        }

        var models = new List<string>(request.Models.Count);
        foreach (var model in request.Models)
        {
            if (!IsModelName(model))
            {
                error = $"'models' entry '{Truncate(model)}' is not a model name of the form '<account>/<model>'.";
                return null;
            }

            if (!models.Contains(model, StringComparer.Ordinal))
            {
                models.Add(model);
            }
        }

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

        error = null;
        return new ValidTokenRequest(name, models, expiresAt);
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
