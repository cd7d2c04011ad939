-- count_lines.lua: libmapfile from LuaJIT's FFI (dlopen, no compiler, no binding to build).
-- Counts the lines of a file with the guarded SIMD count and finds the first line holding a
-- word; every failure is the library's message.
--
-- usage: luajit count_lines.lua LIBMAPFILE FILE WORD
--   prints "LINES lines", then "first WORD at line N" or "no WORD"
local ffi = require("ffi")

ffi.cdef [[
typedef struct mapfile_t mapfile_t;
typedef int32_t mapfile_status;
mapfile_status mapfile_open(const char *path, uint32_t mode, mapfile_t **out);
mapfile_status mapfile_close(mapfile_t *m);
uint64_t mapfile_len(const mapfile_t *m);
mapfile_status mapfile_count_byte(const mapfile_t *m, uint64_t offset, uint64_t len, uint8_t byte,
                                  uint64_t *out_count);
mapfile_status mapfile_find(const mapfile_t *m, uint64_t from, const void *needle,
                            size_t needle_len, uint64_t *out_pos);
const char *mapfile_last_error_message(void);
uint32_t mapfile_abi_version(void);
]]

local library_path, path, word = arg[1], arg[2], arg[3]
local lib = ffi.load(library_path)
assert(lib.mapfile_abi_version() == 0, "written against ABI 0 (MAPFILE_ABI_VERSION)")

-- Raises the library's message for a failed call.
local function check(status)
  if status ~= 0 then error(ffi.string(lib.mapfile_last_error_message()), 2) end
end

local out = ffi.new("mapfile_t *[1]")
check(lib.mapfile_open(path, 0 --[[ MAPFILE_MODE_READ_ONLY ]], out))
local m = ffi.gc(out[0], lib.mapfile_close) -- closed when collected, or explicitly below
local len = lib.mapfile_len(m)

local count = ffi.new("uint64_t[1]")
check(lib.mapfile_count_byte(m, 0, len, 10 --[[ '\n' ]], count))
print(tostring(count[0]):gsub("ULL$", "") .. " lines")

local at = ffi.new("uint64_t[1]")
check(lib.mapfile_find(m, 0, word, #word, at))
if at[0] == -1ULL then -- MAPFILE_NPOS
  print("no " .. word)
else
  local before = ffi.new("uint64_t[1]")
  check(lib.mapfile_count_byte(m, 0, at[0], 10, before))
  print("first " .. word .. " at line " .. tostring(before[0] + 1):gsub("ULL$", ""))
end
check(lib.mapfile_close(ffi.gc(m, nil)))
