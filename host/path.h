/* path.h: where understudy keeps its files. */
#ifndef UNDERSTUDY_PATH_H
#define UNDERSTUDY_PATH_H

/* mkdir -p for the folder that will hold path, new folders 0700; 0 or -1. */
int path_make_parent(const char *path);

#endif
