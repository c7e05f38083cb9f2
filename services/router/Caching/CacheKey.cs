using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Caching;

/// <summary>The identity of a cached answer: whose it is, which question, which form.</summary>
/// <param name="TenantHash">First 16 hex digits of SHA-256 of the tenant namespace: groups a tenant's keys (to list or drop them) without naming the tenant.</param>
/// <param name="RequestHash">SHA-256 (hex) of the tenant, the API, the model, the variant and the canonical body.</param>
/// <param name="Form">The form the answer is kept in.</param>
internal readonly record struct CacheKey(string TenantHash, string RequestHash, ResponseForm Form)
{
    private static readonly byte[] s_version = "gateway-response-cache-v1"u8.ToArray();

    /// <summary>The key below the store's prefix: <c>&lt;tenant hash&gt;:&lt;request hash&gt;:&lt;form&gt;</c>.</summary>
    public string Value => $"{TenantHash}:{RequestHash}:{(char)Form}";

    /// <summary>
    /// Computes the key of a request; null when <paramref name="body"/> is not JSON (such requests
    /// are not cached).
    /// </summary>
    /// <param name="tenant">The namespace answers are shared within (the caller's team, else its virtual account); one tenant never gets another's answer.</param>
    /// <param name="api">The client API (e.g. <c>/v1/chat/completions</c>): the same body on two APIs is answered in two shapes.</param>
    /// <param name="model">The model the client asked for.</param>
    /// <param name="body">The request body as it goes upstream (after guardrails).</param>
    /// <param name="form">The form the client wants the answer in.</param>
    /// <param name="variant">Anything else outside the body that changes the answer (e.g. <c>anthropic-beta</c>); null when none.</param>
    public static CacheKey? Compute(string tenant, string api, string model, ReadOnlySpan<byte> body, ResponseForm form, string? variant = null)
    {
        // One buffer and one SHA-256 call: creating an IncrementalHash costs more than hashing a typical request.
        using var buffer = new PooledBuffer(body.Length + 256);
        Append(buffer, s_version);
        // Length-prefixed, so no two different (tenant, api, model, variant) tuples hash alike.
        AppendField(buffer, tenant);
        AppendField(buffer, api);
        AppendField(buffer, model);
        AppendField(buffer, variant ?? "");
        if (!RequestCanonicalizer.TryWrite(body, buffer))
        {
            return null;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.Span, digest);
        var requestHash = Convert.ToHexStringLower(digest);
        buffer.Length = 0;
        AppendField(buffer, tenant);
        SHA256.HashData(buffer.Span[4..], digest);
        return new CacheKey(Convert.ToHexStringLower(digest[..8]), requestHash, form);
    }

    private static void Append(PooledBuffer buffer, ReadOnlySpan<byte> bytes)
    {
        buffer.EnsureFree(bytes.Length);
        bytes.CopyTo(buffer.Array.AsSpan(buffer.Length));
        buffer.Length += bytes.Length;
    }

    private static void AppendField(PooledBuffer buffer, string value)
    {
        buffer.EnsureFree(4 + Encoding.UTF8.GetMaxByteCount(value.Length));
        var length = Encoding.UTF8.GetBytes(value, buffer.Array.AsSpan(buffer.Length + 4));
        BinaryPrimitives.WriteInt32LittleEndian(buffer.Array.AsSpan(buffer.Length), length);
        buffer.Length += 4 + length;
    }
}
