# One image for the web console and the worker node (the worker runs DeepExtension.Jobs.dll from the same folder).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# Node restores the chart assets (apexcharts) during the build.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish DeepExtension.Web -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV DeepExtension__DataRoot=/data \
    ASPNETCORE_URLS=http://+:8080
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["dotnet", "DeepExtension.Web.dll"]
