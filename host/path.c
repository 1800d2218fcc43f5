/* path.c: where understudy keeps its files. */
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p for the folder that will hold path, new folders 0700. */
int path_make_parent(const char *path)
{
	char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int rc = 0;
	if (!dir)
		return -1;
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				rc = -1;
			*p = '/';
		}
		if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
			rc = -1;
	}
	free(dir);
	return rc;
}
