using System.Buffers.Binary;

namespace Gateway.Aspire.MockUpstream;

/// <summary>
/// The media files the mock hands out and reads back: a tiny valid PNG for image generation, and
/// speech audio whose length follows the input (valid WAV and raw PCM; marker bytes and silence for
/// the compressed formats, which no test decodes).
/// </summary>
internal static class MockMedia
{
    /// <summary>Speech is 24 kHz, 16-bit, mono PCM, as OpenAI documents for its <c>pcm</c> format.</summary>
    public const int SampleRate = 24_000;

    /// <summary>The byte rate of a 128 kbit/s MP3, used to guess the length of audio that is not WAV.</summary>
    public const int CompressedBytesPerSecond = 16_000;

    // 10 ms of speech a character: short enough that the longest input (4096 characters) stays
    // under 2 MB, long enough that a longer input visibly makes longer audio.
    private const int PcmBytesPerCharacter = SampleRate / 100 * sizeof(short);
    private const int WavHeaderLength = 44;

    /// <summary>A 1×1 RGB PNG (signature, IHDR, one zlib-compressed IDAT row, IEND, with their CRCs).</summary>
    public static ReadOnlySpan<byte> Png =>
    [
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A,
        0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xDE,
        0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0xF0, 0x9A, 0xF0, 0x08, 0x00, 0x02, 0xE4, 0x01, 0xBD, 0xB7, 0x68, 0x83, 0xD9,
        0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    /// <summary>The <c>Content-Type</c> OpenAI answers speech in <paramref name="format"/> with, or null for a format it does not offer.</summary>
    public static string? SpeechContentType(string format) => format switch
    {
        "mp3" => "audio/mpeg",
        "opus" => "audio/opus",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "pcm" => "audio/pcm",
        _ => null,
    };

    /// <summary>
    /// Silent speech for <paramref name="characters"/> characters of input: raw PCM for <c>pcm</c>, the same
    /// behind a RIFF header for <c>wav</c>; for the compressed formats the format's leading marker
    /// ("ID3", "OggS", an ADTS sync word, "fLaC") then zeros, an eighth of the PCM length. Those bytes are
    /// deterministic but not decodable: tests only check that they pass through unchanged.
    /// </summary>
    public static byte[] Speech(string format, int characters)
    {
        var pcmLength = Math.Max(1, characters) * PcmBytesPerCharacter;
        ReadOnlySpan<byte> marker = format switch
        {
            "mp3" => "ID3\u0004\0\0\0\0\0\0"u8,
            "opus" => "OggS"u8,
            "aac" => [0xFF, 0xF1],
            "flac" => "fLaC"u8,
            _ => [],
        };

        if (format == "pcm")
        {
            return new byte[pcmLength];
        }

        if (format != "wav")
        {
            var compressed = new byte[marker.Length + pcmLength / 8];
            marker.CopyTo(compressed);
            return compressed;
        }

        var wav = new byte[WavHeaderLength + pcmLength];
        var header = wav.AsSpan();
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], wav.Length - 8);
        "WAVEfmt "u8.CopyTo(header[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(header[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(header[22..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], SampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], SampleRate * sizeof(short));
        BinaryPrimitives.WriteInt16LittleEndian(header[32..], sizeof(short));
        BinaryPrimitives.WriteInt16LittleEndian(header[34..], 16);
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(header[40..], pcmLength);
        return wav;
    }

    /// <summary>
    /// How long <paramref name="length"/> bytes of audio that start with <paramref name="head"/> play, in
    /// seconds: from the byte rate of a WAV header (so the mock's own speech reads back as long as it
    /// is), else as a 128 kbit/s MP3.
    /// </summary>
    public static double Seconds(ReadOnlySpan<byte> head, long length)
    {
        var isWav = head.Length >= WavHeaderLength && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WAVE"u8);
        var byteRate = isWav ? BinaryPrimitives.ReadInt32LittleEndian(head[28..]) : 0;
        return byteRate > 0
            ? Math.Max(0, length - WavHeaderLength) / (double)byteRate
            : length / (double)CompressedBytesPerSecond;
    }
}
