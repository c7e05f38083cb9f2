using System.Text.Json;
using Gateway.Aspire.Router.Forwarding;

namespace Gateway.Aspire.Router.Routing;

/// <summary>
/// Task defaults: a request body without <c>model</c> gets the model of the first rule whose
/// <c>default_model</c> applies to the request's metadata (<see cref="RouteTable.DefaultModelFor"/>),
/// written in as the body's first property so everything downstream sees an ordinary request.
/// </summary>
internal static class TaskDefaultModel
{
    /// <summary>A copy of <paramref name="body"/> (a JSON object) with <c>"model": <paramref name="model"/></c> first.</summary>
    public static PooledBuffer Insert(ReadOnlySpan<byte> body, string model)
    {
        var open = body.IndexOf((byte)'{');
        var property = JsonSerializer.SerializeToUtf8Bytes(model, RouterJsonContext.Default.String);
        var buffer = new PooledBuffer(body.Length + property.Length + 10);
        if (open < 0)
        {
            // Not an object: leave it as it is for the inspector to report.
            body.CopyTo(buffer.Array);
            buffer.Length = body.Length;
            return buffer;
        }

        var rest = body[(open + 1)..];
        var empty = rest.TrimStart(" \t\r\n"u8).StartsWith("}"u8);
        var span = buffer.Array.AsSpan();
        var at = 0;
        body[..(open + 1)].CopyTo(span);
        at += open + 1;
        "\"model\":"u8.CopyTo(span[at..]);
        at += 8;
        property.CopyTo(span[at..]);
        at += property.Length;
        if (!empty)
        {
            span[at++] = (byte)',';
        }

        rest.CopyTo(span[at..]);
        buffer.Length = at + rest.Length;
        return buffer;
    }
}
