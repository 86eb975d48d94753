using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace DockerToVms.Tasks.Docker.Archive;

/// <summary>
/// The layers of a written image as MSBuild items, so a later step (a push) takes the very
/// files the archive holds: the item spec is the layer's file, the metadata its diff_id and
/// size.
/// </summary>
public static class ImageFileItems
{
    /// <summary>Metadata: the layer's digest, <c>sha256:</c> and hex.</summary>
    public const string DiffIdMetadata = "DiffId";

    /// <summary>Metadata: the layer file's size in bytes.</summary>
    public const string SizeMetadata = "Size";

    /// <summary>Metadata: the layer's media type.</summary>
    public const string MediaTypeMetadata = "MediaType";

    /// <summary>The items of the layers, bottom first.</summary>
    public static ITaskItem[] ToItems(IEnumerable<LayerFile> layers) =>
    [
        .. layers.Select(l => new TaskItem(l.Path, new Dictionary<string, string>
        {
            [DiffIdMetadata] = l.DiffId,
            [SizeMetadata] = l.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [MediaTypeMetadata] = ImageArchive.LayerMediaType,
        })),
    ];

    /// <summary>The layers of the items, in their order; a missing size reads as -1.</summary>
    public static IReadOnlyList<LayerFile> FromItems(IEnumerable<ITaskItem> items) =>
    [
        .. items.Select(i => new LayerFile(i.ItemSpec, i.GetMetadata(DiffIdMetadata),
            long.TryParse(i.GetMetadata(SizeMetadata), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var size) ? size : -1)),
    ];
}
