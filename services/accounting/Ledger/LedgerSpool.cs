using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Gateway.Aspire.Accounting.Grpc;
using Google.Protobuf;
using Microsoft.Extensions.Options;

namespace Gateway.Aspire.Accounting.Ledger;

/// <summary>
/// The ledger's durable buffer for when PostgreSQL is unavailable: batches are appended to local
/// segment files and fsynced before <see cref="LedgerService"/> acknowledges them, and
/// <see cref="LedgerReplay"/> writes them into the ledger once PostgreSQL is back.
/// </summary>
/// <remarks>
/// <para>Local disk rather than a Redis stream: the buffer exists for outages, and Redis may be down
/// in the same one (the issue asks that the ledger keep being written without Redis); a Redis AOF
/// with the default <c>appendfsync everysec</c> can also lose the last second of acknowledged
/// writes, and accounting would need a Redis connection only for this. The price is that the
/// directory must survive a restart of the process (a volume in a container), and that a replica's
/// buffer is replayed by whichever replica sees that directory.</para>
/// <para>Format: segment files <c>&lt;UTC ticks&gt;-&lt;guid&gt;.spool</c> (names sort by age), each a run
/// of frames <c>[payload length: int32 LE][first 8 bytes of SHA-256(payload)][payload: RecordUsageRequest]</c>.
/// A crash mid-append leaves a torn last frame that the checksum finds; it was never acknowledged,
/// so the router still holds it and resends it. The writer holds its open segment exclusively
/// (FileShare.None, an advisory lock on Unix), so no replayer, in this process or another sharing
/// the directory, reads a segment that is still growing.</para>
/// </remarks>
internal sealed partial class LedgerSpool : IDisposable
{
    /// <summary>Extension of segment files.</summary>
    public const string Extension = ".spool";

    private const int HeaderBytes = 12;

    // A segment is closed and a new one begun beyond this size, so replay reads bounded files.
    private const long MaxSegmentBytes = 64 * 1024 * 1024;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;
    private FileStream? _active;
    private volatile bool _outage;

    /// <summary>
    /// Creates the spool over <see cref="LedgerOptions.SpoolDirectory"/> (relative paths from the
    /// content root), and its gauges: <c>gateway_ledger_spool_bytes</c> and
    /// <c>gateway_ledger_spool_segments</c> on <c>/metrics</c>.
    /// </summary>
    public LedgerSpool(IOptions<LedgerOptions> options, IHostEnvironment environment, TimeProvider time, IMeterFactory meters)
    {
        _time = time;
        Directory = Path.GetFullPath(options.Value.SpoolDirectory, environment.ContentRootPath);
        System.IO.Directory.CreateDirectory(Directory);
        // Read from the directory at each scrape, not counted in memory: it then includes segments another
        // replica or an earlier run left, and a scrape every few seconds costs one directory listing.
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("gateway.ledger.spool", () => OnDisk().Bytes, unit: "By",
            description: "Bytes of ledger batches buffered on local disk while PostgreSQL is unavailable, not yet replayed.");
        meter.CreateObservableGauge("gateway.ledger.spool.segments", () => OnDisk().Segments,
            description: "Ledger spool segment files waiting for replay.");
    }

    /// <summary>The meter of the spool's gauges.</summary>
    public const string MeterName = GatewayTelemetry.MeterPrefix + "Accounting";

    /// <summary>The directory holding the segments.</summary>
    public string Directory { get; }

    /// <summary>
    /// Set when a write to PostgreSQL failed and no write has succeeded since: new batches go
    /// straight to the spool instead of waiting for a connection attempt that would fail (or, with a
    /// host that does not answer, time out) each time. Cleared by <see cref="LedgerReplay"/>.
    /// </summary>
    public bool Outage
    {
        get => _outage;
        set => _outage = value;
    }

    /// <summary>Whether any segment is waiting for replay (this replica's or one left by another).</summary>
    public bool HasSegments => System.IO.Directory.EnumerateFiles(Directory, "*" + Extension).Any();

    /// <summary>Appends <paramref name="batch"/> and returns once it is on disk (fsync).</summary>
    /// <exception cref="IOException">The disk refused the write (full, read-only): nothing was kept.</exception>
    public async Task AppendAsync(RecordUsageRequest batch, CancellationToken cancellationToken)
    {
        var payload = batch.ToByteArray();
        var frame = new byte[HeaderBytes + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, payload.Length);
        SHA256.HashData(payload).AsSpan(0, 8).CopyTo(frame.AsSpan(4));
        payload.CopyTo(frame.AsSpan(HeaderBytes));

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var segment = _active ??= OpenSegment();
            var start = segment.Position;
            try
            {
                // Not cancellable once begun: a half-written frame is what the checksum is for, not a goal.
                await segment.WriteAsync(frame, CancellationToken.None);
                segment.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                // Cut the partial frame so the frames after it (once the disk has room) stay readable.
                TryTruncate(segment, start);
                throw;
            }

            if (segment.Length >= MaxSegmentBytes)
            {
                CloseActive();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Every segment in the directory, oldest first, except the one this replica is writing; when
    /// that is the only one, it is closed first (the next append begins a new one) and listed.
    /// Closing only then keeps a long outage, whose replay passes fail, from leaving a segment per pass.
    /// </summary>
    public async Task<IReadOnlyList<string>> SealedSegmentsAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var active = _active?.Name;
            var segments = System.IO.Directory.GetFiles(Directory, "*" + Extension).Where(p => p != active).ToArray();
            if (segments.Length == 0 && active is not null)
            {
                CloseActive();
                segments = [active];
            }

            Array.Sort(segments, StringComparer.Ordinal);
            return segments;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> exclusively and reads its frames; null when another process
    /// holds it (a replica still writing it, or replaying it). <paramref name="tornBytes"/> counts
    /// bytes after the last whole frame (a crash mid-append).
    /// </summary>
    public static SpoolSegment? TryRead(string path, out long tornBytes)
    {
        tornBytes = 0;
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        var batches = new List<RecordUsageRequest>();
        var offset = 0;
        while (bytes.Length - offset >= HeaderBytes)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset));
            if (length < 0 || length > bytes.Length - offset - HeaderBytes)
            {
                break;
            }

            var payload = bytes.AsSpan(offset + HeaderBytes, length);
            if (!SHA256.HashData(payload).AsSpan(0, 8).SequenceEqual(bytes.AsSpan(offset + 4, 8)))
            {
                break;
            }

            batches.Add(RecordUsageRequest.Parser.ParseFrom(payload));
            offset += HeaderBytes + length;
        }

        tornBytes = bytes.Length - offset;
        return new SpoolSegment(path, stream, batches);
    }

    /// <summary>Deletes a replayed segment (and makes the deletion durable) while still holding it.</summary>
    public void Delete(SpoolSegment segment)
    {
        File.Delete(segment.Path);
        segment.Dispose();
        SyncDirectory(Directory);
    }

    /// <summary>What the spool holds on disk: segment files and their bytes (torn tails included).</summary>
    public (long Bytes, int Segments) OnDisk()
    {
        long bytes = 0;
        var segments = 0;
        try
        {
            foreach (var file in new DirectoryInfo(Directory).EnumerateFiles("*" + Extension))
            {
                bytes += file.Length;
                segments++;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The directory is gone or unreadable (a lost disk): appends fail and say so; the gauge shows what it could count.
        }

        return (bytes, segments);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseActive();
        _gate.Dispose();
    }

    private FileStream OpenSegment()
    {
        var name = $"{_time.GetUtcNow().UtcTicks:D19}-{Guid.NewGuid():N}{Extension}";
        var stream = new FileStream(Path.Combine(Directory, name), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        // The new name must survive a crash too, not only the bytes written into it.
        SyncDirectory(Directory);
        return stream;
    }

    private void CloseActive()
    {
        _active?.Dispose();
        _active = null;
    }

    private static void TryTruncate(FileStream segment, long length)
    {
        try
        {
            segment.SetLength(length);
            segment.Position = length;
        }
        catch (IOException)
        {
            // The checksum still finds the torn frame on replay.
        }
    }

    // .NET cannot open a directory as a stream, so fsync(2) it through libc: creating or deleting a
    // file is durable only once its directory is synced.
    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = NativeMethods.Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"Could not open {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.Fsync(fd) != 0)
            {
                throw new IOException($"Could not sync {directory} (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}

/// <summary>A segment read for replay, held exclusively until it is deleted or disposed.</summary>
/// <param name="Path">The file.</param>
/// <param name="Stream">The exclusive handle.</param>
/// <param name="Batches">Its whole frames, in the order they were acknowledged.</param>
internal sealed record SpoolSegment(string Path, FileStream Stream, IReadOnlyList<RecordUsageRequest> Batches) : IDisposable
{
    /// <summary>Records in every batch.</summary>
    public int Records => Batches.Sum(b => b.Records.Count);

    /// <inheritdoc />
    public void Dispose() => Stream.Dispose();
}
