using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>
/// A <c>multipart/form-data</c> request body (OpenAI's <c>/v1/audio/transcriptions</c>), parsed from
/// the buffered body so the gateway can read the <c>model</c> field and send the same form upstream
/// with the provider's model name. Parts are kept as slices of the buffer: nothing is copied.
/// </summary>
internal sealed class MultipartForm
{
    private readonly List<Part> _parts;

    private MultipartForm(List<Part> parts) => _parts = parts;

    /// <summary>The <c>model</c> field, or null when absent.</summary>
    public string? Model => _parts.FirstOrDefault(p => p.Name == "model" && p.FileName is null) is { } part
        ? System.Text.Encoding.UTF8.GetString(part.Data.Span).Trim()
        : null;

    /// <summary>Whether a part of that name carries a file.</summary>
    public bool HasFile(string name) => _parts.Any(p => p.Name == name && p.FileName is not null);

    /// <summary>Parses <paramref name="body"/>; on failure the error says what is wrong (400).</summary>
    public static async Task<(MultipartForm? Form, string? Error)> ParseAsync(ReadOnlyMemory<byte> body, string? contentType, CancellationToken cancellationToken)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return (null, "The body must be multipart/form-data with a boundary.");
        }

        var parts = new List<Part>();
        try
        {
            // The body is a pooled array: a read-only MemoryStream over it copies nothing.
            var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(body.ToArray(), writable: false);
            var reader = new MultipartReader(boundary, stream);
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                {
                    return (null, "Every part of the form needs 'Content-Disposition: form-data; name=...'.");
                }

                using var data = new MemoryStream();
                await section.Body.CopyToAsync(data, cancellationToken);
                parts.Add(new Part(
                    HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "",
                    disposition.IsFileDisposition() ? HeaderUtilities.RemoveQuotes(disposition.FileName.HasValue ? disposition.FileName : disposition.FileNameStar).Value ?? "file" : null,
                    section.ContentType,
                    data.GetBuffer().AsMemory(0, (int)data.Length)));
            }
        }
        catch (IOException e)
        {
            return (null, "The multipart body is malformed: " + e.Message);
        }
        catch (InvalidDataException e)
        {
            return (null, "The multipart body is malformed: " + e.Message);
        }

        return (new MultipartForm(parts), null);
    }

    /// <summary>The same form with <c>model</c> set to <paramref name="providerModel"/>.</summary>
    public HttpContent ToContent(string providerModel)
    {
        var content = new MultipartFormDataContent();
        foreach (var part in _parts)
        {
            if (part.Name == "model" && part.FileName is null)
            {
                content.Add(new StringContent(providerModel), "model");
                continue;
            }

            var value = new ReadOnlyMemoryContent(part.Data);
            if (part.ContentType is { } type && System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(type, out var parsed))
            {
                value.Headers.ContentType = parsed;
            }

            if (part.FileName is null)
            {
                content.Add(value, part.Name);
            }
            else
            {
                content.Add(value, part.Name, part.FileName);
            }
        }

        return content;
    }

    private sealed record Part(string Name, string? FileName, string? ContentType, ReadOnlyMemory<byte> Data);
}
