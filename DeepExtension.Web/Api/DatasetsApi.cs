using DeepExtension.Core.Common;
using DeepExtension.Core.Datasets;
using Microsoft.AspNetCore.Mvc;

namespace DeepExtension.Web.Api;

internal static class DatasetsApi
{
    public const int MaxPreviewRows = 100;

    public static void MapDatasets(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/datasets").WithTags("Datasets");
        group.MapGet("", async (DatasetService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListAsync(ct)).Select(DatasetResponse.Of).ToList()));
        group.MapGet("/{id:guid}", async (Guid id, DatasetService service, CancellationToken ct) =>
            await service.GetAsync(id, ct) is { } dataset ? Results.Ok(DatasetResponse.Of(dataset)) : ApiEndpoints.NotFound("dataset"))
            .Produces<DatasetResponse>();

        // Uploads as multipart/form-data: "file" (and optionally "validationFile"), plus the fields below.
        group.MapPost("", async ([FromForm] string name, [FromForm] string? description, IFormFile file, [FromForm] DatasetFormat? format,
            [FromForm] int? validationPercent, IFormFile? validationFile, DatasetService service, CancellationToken ct) =>
        {
            var result = await UploadAsync(file, format, validationPercent, validationFile,
                upload => service.CreateAsync(name, description, upload, ct));
            return Answer(result);
        }).WithSummary("Creates a dataset whose version 1 is the uploaded file (multipart/form-data).")
            .Produces<DatasetUploadResponse>(StatusCodes.Status201Created).ProducesValidationProblem()
            .WithMetadata(new DisableRequestSizeLimitAttribute()).WithFormOptions(multipartBodyLengthLimit: long.MaxValue);

        group.MapPost("/{id:guid}/versions", async (Guid id, IFormFile file, [FromForm] DatasetFormat? format, [FromForm] int? validationPercent,
            IFormFile? validationFile, DatasetService service, CancellationToken ct) =>
        {
            if (await service.GetAsync(id, ct) is null) return ApiEndpoints.NotFound("dataset");
            var result = await UploadAsync(file, format, validationPercent, validationFile, upload => service.AddVersionAsync(id, upload, ct));
            return Answer(result);
        }).WithSummary("Uploads the next version of a dataset (multipart/form-data); an identical file answers the existing version.")
            .Produces<DatasetUploadResponse>(StatusCodes.Status201Created).ProducesValidationProblem()
            .WithMetadata(new DisableRequestSizeLimitAttribute()).WithFormOptions(multipartBodyLengthLimit: long.MaxValue);

        group.MapGet("/{id:guid}/versions/{versionId:guid}/preview", async (Guid id, Guid versionId, int? rows, DatasetService service, CancellationToken ct) =>
        {
            if (await service.GetVersionAsync(versionId, ct) is not { } version || version.DatasetId != id) return ApiEndpoints.NotFound("dataset version");
            var examples = await service.PreviewAsync(version, Math.Clamp(rows ?? 10, 1, MaxPreviewRows), ct);
            // Each example as its own type (SFT conversation, preference pair, prompt and answer).
            return Results.Ok(examples.Cast<object>().ToList());
        }).WithSummary("The first rows of a version, normalised as training reads them.");
    }

    private static async Task<OperationResult<DatasetUploadResult>> UploadAsync(IFormFile file, DatasetFormat? format, int? validationPercent,
        IFormFile? validationFile, Func<DatasetUpload, Task<OperationResult<DatasetUploadResult>>> store)
    {
        await using var content = file.OpenReadStream();
        await using var validation = validationFile?.OpenReadStream();
        return await store(new DatasetUpload(content, file.FileName, format, validationPercent ?? 0, validation, validationFile?.FileName));
    }

    private static IResult Answer(OperationResult<DatasetUploadResult> result)
    {
        if (!result.Succeeded) return ApiEndpoints.Problem(result);
        var value = result.Value!;
        var body = new DatasetUploadResponse(DatasetResponse.Of(value.Dataset), DatasetVersionResponse.Of(value.Version), value.IsNew, value.Message);
        return value.IsNew ? Results.Created($"{ApiEndpoints.Prefix}/datasets/{value.Dataset.Id}", body) : Results.Ok(body);
    }
}
