using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Aspire.Router.Signing;

/// <summary>Turns response signing on when a secret is configured.</summary>
internal static class ResponseSigningExtensions
{
    /// <summary>The configuration key of the secret; <c>GATEWAY_SIGNING_SECRET</c> is read when it is not set.</summary>
    public const string SecretKey = "Router:Signing:Secret";

    /// <summary>Shortest secret accepted: a short HMAC key is guessable.</summary>
    public const int MinSecretLength = 32;

    /// <summary>
    /// With a secret, every <c>/v1/*</c> response is signed (a middleware put in front by a startup
    /// filter, so hosts need no extra line); without one nothing is registered and responses are
    /// relayed exactly as before, with no extra buffer or copy.
    /// </summary>
    public static IServiceCollection AddResponseSigning(this IServiceCollection services, IConfiguration configuration)
    {
        var secret = configuration[SecretKey] is { Length: > 0 } configured ? configured : configuration["GATEWAY_SIGNING_SECRET"];
        if (string.IsNullOrEmpty(secret))
        {
            return services;
        }

        if (secret.Length < MinSecretLength)
        {
            throw new InvalidOperationException($"{SecretKey} (GATEWAY_SIGNING_SECRET) must be at least {MinSecretLength} characters; e.g. `openssl rand -hex 32`.");
        }

        services.AddSingleton(new ResponseSigner(secret));
        services.AddTransient<IStartupFilter, SigningStartupFilter>();
        return services;
    }

    private sealed class SigningStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            var signer = app.ApplicationServices.GetRequiredService<ResponseSigner>();
            app.Use(async (context, nextMiddleware) =>
            {
                if (!context.Request.Path.StartsWithSegments("/v1"))
                {
                    await nextMiddleware(context);
                    return;
                }

                var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
                var signing = new SigningResponseBody(original, context.Response, signer);
                context.Features.Set<IHttpResponseBodyFeature>(signing);
                try
                {
                    await nextMiddleware(context);
                    await signing.CompleteAsync();
                }
                finally
                {
                    context.Features.Set(original);
                }
            });
            next(app);
        };
    }
}
